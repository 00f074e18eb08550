// What the gateway accepts as call metadata: one pure rule shared by the gateway, which refuses
// the whole call, and the console, which disables Run with the same words before sending.

const hopHeaders = new Set([
  "accept",
  "accept-encoding",
  "accept-language",
  "authorization",
  "connection",
  "content-encoding",
  "content-length",
  "content-type",
  "cookie",
  "date",
  "host",
  "keep-alive",
  "origin",
  "referer",
  "server",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "user-agent",
  "vary",
  "x-grpc-web",
  "x-user-agent",
]);

const hopPrefixes = ["grpc-", "connect-", "access-control-", "sec-", ":"];

/** True for a header that belongs to one hop (protocol, browser or the gateway's own auth). */
export function isHopHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return hopHeaders.has(lower) || hopPrefixes.some((p) => lower.startsWith(p));
}

const tokenChars = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

/** Why the gateway refuses one metadata entry, or undefined when it sends it on. */
export function metadataProblem(rawName: string, value: string): string | undefined {
  const name = rawName.trim().toLowerCase();
  if (!tokenChars.test(name)) return `metadata key "${rawName}" is not a valid header name`;
  if (isHopHeader(name) && name !== "authorization") {
    return `metadata key "${rawName}" is set by the protocol and cannot be sent as metadata`;
  }
  if (/[\r\n\0]/.test(value)) return `metadata "${rawName}" has a line break or NUL in its value`;
  return undefined;
}
