// Which headers cross the gateway: protocol and browser headers stay on their own hop, the
// caller's own metadata goes through.
import { Code, ConnectError } from "@connectrpc/connect";
import { isHopHeader, metadataProblem } from "./metadata-rules";

export { isHopHeader };

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

/** Metadata typed into the console, as request headers; rejects names HTTP would not carry. */
export function metadataHeaders(metadata: Record<string, string>): Headers {
  const out = new Headers();
  for (const [rawName, value] of Object.entries(metadata)) {
    const problem = metadataProblem(rawName, value);
    if (problem !== undefined) throw new ConnectError(problem, Code.InvalidArgument);
    out.set(rawName.trim().toLowerCase(), value);
  }
  return out;
}
