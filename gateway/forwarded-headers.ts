// Which headers cross the gateway: protocol and browser headers stay on their own hop, the
// caller's own metadata goes through.
import { Code, ConnectError } from "@connectrpc/connect";

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

/** The caller's own metadata, plus the peer in X-Forwarded-For. */
export function forwardedRequestHeaders(incoming: Headers, peer: string): Headers {
  const out = new Headers();
  incoming.forEach((value, name) => {
    if (!isHopHeader(name)) out.set(name, value);
  });
  if (peer) {
    const prior = incoming.get("x-forwarded-for");
    out.set("x-forwarded-for", prior ? `${prior}, ${peer}` : peer);
  }
  return out;
}

/** Headers as a plain map for InvokeHeaders and InvokeResult. */
export function headerMap(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

const tokenChars = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;

/** Metadata typed into the console, as request headers; rejects names HTTP would not carry. */
export function metadataHeaders(metadata: Record<string, string>): Headers {
  const out = new Headers();
  for (const [rawName, value] of Object.entries(metadata)) {
    const name = rawName.trim().toLowerCase();
    if (!tokenChars.test(name)) {
      throw new ConnectError(
        `metadata key "${rawName}" is not a valid header name`,
        Code.InvalidArgument,
      );
    }
    if (isHopHeader(name) && name !== "authorization") {
      throw new ConnectError(
        `metadata key "${rawName}" is set by the protocol and cannot be sent as metadata`,
        Code.InvalidArgument,
      );
    }
    if (/[\r\n\0]/.test(value)) {
      throw new ConnectError(
        `metadata "${rawName}" has a line break or NUL in its value`,
        Code.InvalidArgument,
      );
    }
    out.set(name, value);
  }
  return out;
}
