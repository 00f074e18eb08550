// The OpenTelemetry RPC semantic conventions for gRPC spans: names, attributes and which status
// codes make a span an error.
import { type Attributes, SpanStatusCode } from "@opentelemetry/api";

/** "/pkg.Service/Method" → span name "pkg.Service/Method" and its rpc.* attributes. */
export function rpcAttributes(path: string): { name: string; attributes: Attributes } {
  const slash = path.lastIndexOf("/");
  const service = slash > 0 ? path.slice(path.startsWith("/") ? 1 : 0, slash) : "";
  const method = slash >= 0 ? path.slice(slash + 1) : path;
  return {
    name: service === "" ? method || "grpc" : `${service}/${method}`,
    attributes: { "rpc.system": "grpc", "rpc.service": service, "rpc.method": method },
  };
}

/** Codes a server reports as its own error (semantic conventions); a client errors on any non-OK. */
const serverErrorCodes = new Set([2, 4, 12, 13, 14, 15]);

export function spanStatusFor(
  kind: "server" | "client",
  code: number,
  message: string,
): { code: SpanStatusCode; message?: string } {
  const error = kind === "client" ? code !== 0 : serverErrorCodes.has(code);
  return error ? { code: SpanStatusCode.ERROR, message } : { code: SpanStatusCode.UNSET };
}

/** "host:port", "[v6]:port" or "unix:/path" → server.address / server.port. */
export function serverAddressAttributes(address: string): Attributes {
  if (address.startsWith("unix:")) return { "server.address": address.slice(5) };
  const colon = address.lastIndexOf(":");
  if (colon < 0) return { "server.address": address };
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(address.slice(colon + 1));
  return Number.isInteger(port)
    ? { "server.address": host, "server.port": port }
    : { "server.address": address };
}
