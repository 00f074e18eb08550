// Headers a proxy adds to what it forwards: a hop count (so a routing loop ends with an error
// instead of running until something overflows) and x-forwarded-for (who called).
import type {
  Http2Session,
  IncomingHttpHeaders,
  OutgoingHttpHeaders,
  ServerHttp2Stream,
} from "node:http2";

export const hopHeader = "x-agentplatform-hops";

/** Proxies the call passed through before this one, from its headers. */
export function hopsIn(headers: IncomingHttpHeaders): number {
  const raw = headers[hopHeader];
  if (raw === undefined) return 0;
  const hops = Number(raw);
  return Number.isInteger(hops) && hops >= 0 ? hops : 0;
}

// The peer address of a session, read once: every read goes through the session's socket proxy.
const peerOfSession = new WeakMap<Http2Session, string>();

/** The caller's address as seen on the connection, or "" when unknown. */
export function peerAddress(stream: ServerHttp2Stream): string {
  const session = stream.session;
  if (session === undefined) return "";
  let peer = peerOfSession.get(session);
  if (peer === undefined) {
    peer = session.socket?.remoteAddress ?? "";
    peerOfSession.set(session, peer);
  }
  return peer;
}

/** Sets the next hop's count and x-forwarded-for on `out`, from the caller's headers. */
export function addHopHeaders(
  out: OutgoingHttpHeaders,
  headers: IncomingHttpHeaders,
  stream: ServerHttp2Stream,
): void {
  out[hopHeader] = String(hopsIn(headers) + 1);
  const previous = headers["x-forwarded-for"];
  const before = typeof previous === "string" && previous !== "" ? previous : undefined;
  const peer = peerAddress(stream);
  if (before !== undefined) out["x-forwarded-for"] = peer === "" ? before : `${before}, ${peer}`;
  else if (peer !== "") out["x-forwarded-for"] = peer;
}
