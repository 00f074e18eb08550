// Headers a proxy adds to what it forwards: a hop count (so a routing loop ends with an error
// instead of running until something overflows) and x-forwarded-for (who called).
import type { Http2ServerRequest, OutgoingHttpHeaders } from "node:http2";

export const hopHeader = "x-agentplatform-hops";

export function hopsOf(req: Http2ServerRequest): number {
  const hops = Number(req.headers[hopHeader] ?? 0);
  return Number.isInteger(hops) && hops >= 0 ? hops : 0;
}

export function nextHopHeaders(req: Http2ServerRequest): OutgoingHttpHeaders {
  const previous = req.headers["x-forwarded-for"];
  const peer = req.stream.session?.socket?.remoteAddress;
  const chain = [typeof previous === "string" ? previous : undefined, peer].filter(
    (part): part is string => part !== undefined && part !== "",
  );
  return {
    [hopHeader]: String(hopsOf(req) + 1),
    ...(chain.length > 0 ? { "x-forwarded-for": chain.join(", ") } : {}),
  };
}
