// CORS for the browser endpoint: only allowlisted origins get CORS headers, with what the
// Connect and gRPC-Web protocols need; browsers from any other origin are turned away.
import type * as http from "node:http";
import type * as http2 from "node:http2";

export type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/** Request headers Connect, gRPC-Web and the console's bearer token use. */
export const corsAllowedHeaders = [
  "Authorization",
  "Content-Type",
  "Connect-Protocol-Version",
  "Connect-Timeout-Ms",
  "Connect-Accept-Encoding",
  "Connect-Content-Encoding",
  "Grpc-Timeout",
  "Grpc-Accept-Encoding",
  // W3C trace context: the console starts the trace of each run.
  "Traceparent",
  "Tracestate",
  "Grpc-Encoding",
  "X-Grpc-Web",
  "X-User-Agent",
];

/** Response headers scripts must be able to read: gRPC-Web puts the status in them. */
export const corsExposedHeaders = [
  "Grpc-Status",
  "Grpc-Message",
  "Grpc-Status-Details-Bin",
  "Grpc-Encoding",
  "Connect-Content-Encoding",
];

export const corsAllowedMethods = ["POST", "GET"];

export interface CorsPolicy {
  /**
   * Adds CORS headers for an allowed origin. Returns true when it answered the request itself
   * (a preflight, or a browser request from an origin not on the list).
   */
  handle(req: NodeRequest, res: NodeResponse): boolean;
  isAllowed(origin: string): boolean;
}

export function createCorsPolicy(origins: readonly string[]): CorsPolicy {
  const allowed = new Set(origins.map((o) => o.toLowerCase()));
  const isAllowed = (origin: string) => allowed.has(origin.toLowerCase());

  return {
    isAllowed,
    handle(req, res) {
      const origin = req.headers.origin;
      if (origin === undefined || origin === "") return false;
      const preflight =
        req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
      if (!isAllowed(origin)) {
        res.writeHead(403, { "content-type": "text/plain; charset=utf-8" });
        res.end(`origin ${origin} is not allowed; add it to GATEWAY_CORS_ORIGINS\n`);
        return true;
      }
      res.setHeader("Access-Control-Allow-Origin", origin);
      res.setHeader("Vary", "Origin");
      if (preflight) {
        res.writeHead(204, {
          "Access-Control-Allow-Methods": corsAllowedMethods.join(", "),
          "Access-Control-Allow-Headers": corsAllowedHeaders.join(", "),
          "Access-Control-Max-Age": "7200",
        });
        res.end();
        return true;
      }
      res.setHeader("Access-Control-Expose-Headers", corsExposedHeaders.join(", "));
      return false;
    },
  };
}
