// A fresh W3C trace context for a console run: the console picks the trace id, so it can ask the
// gateway for the run's spans afterwards without any response header.

export interface RunTraceContext {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** The header value: version 00, sampled. */
  traceparent: string;
}

function randomHex(bytes: number): string {
  const buffer = new Uint8Array(bytes);
  crypto.getRandomValues(buffer);
  return Array.from(buffer, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function newRunTraceContext(): RunTraceContext {
  const traceId = randomHex(16);
  return { traceId, traceparent: `00-${traceId}-${randomHex(8)}-01` };
}
