// Whether a failed call provably never reached a server's handler, so sending it again elsewhere
// cannot run it twice. connect-node reports these cases as INTERNAL or UNAVAILABLE, like many
// others that are not safe to repeat, so the answer comes from the underlying Node.js error.
import { ConnectError } from "@connectrpc/connect";

/** Node.js error codes raised before a request left this process or reached a listener. */
const unsentCodes = new Set([
  "ECONNREFUSED", // nothing listens: a router that closed its listener
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ERR_HTTP2_GOAWAY_SESSION", // the session had received GOAWAY: the stream was never opened
  "ERR_HTTP2_INVALID_SESSION", // the session was already destroyed
]);

/** RST_STREAM REFUSED_STREAM (0x7), or a stream above a GOAWAY's last stream id: never processed (RFC 9113 8.7). */
const refusedStream = /REFUSED_STREAM/;

function errorChain(err: unknown): Error[] {
  const chain: Error[] = [];
  let at: unknown = err;
  while (at instanceof Error && !chain.includes(at)) {
    chain.push(at);
    at = at.cause;
  }
  return chain;
}

function nodeCode(err: Error): string | undefined {
  return "code" in err && typeof err.code === "string" ? err.code : undefined;
}

/**
 * True when `err` proves the server did not process the call: the connection was refused, the
 * stream was refused, or the session had been closed (GOAWAY) before the stream was opened.
 */
export function callWasNotProcessed(err: unknown): boolean {
  const chain = errorChain(err);
  if (err instanceof ConnectError && refusedStream.test(err.rawMessage)) return true;
  return chain.some((e) => {
    const code = nodeCode(e);
    return (code !== undefined && unsentCodes.has(code)) || refusedStream.test(e.message);
  });
}
