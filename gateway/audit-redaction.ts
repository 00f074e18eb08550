// Metadata kept in the audit log: values of headers that carry credentials never reach the log.

const secretKey =
  /authorization|token|secret|passw|cookie|api[-_]?key|credential|session|signature|private/i;

export const redacted = "[redacted]";

/** A copy with the value of every credential-like key replaced; keys and other values kept. */
export function redactMetadata(metadata: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata)) {
    out[key] = secretKey.test(key)
      ? redacted
      : value.length > 512
        ? `${value.slice(0, 512)}…`
        : value;
  }
  return out;
}
