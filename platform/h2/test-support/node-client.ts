// A node:http2 client's side of a test: gRPC-style requests, and what a stream received.
import type * as http2 from "node:http2";

export interface NodeAnswer {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders;
  /** grpc-status from the trailers, or from a Trailers-Only response's headers. */
  status: string | undefined;
  message: string | undefined;
  rstCode: number | undefined;
}

/** Reads a client stream to its end (or reset); with `read` false its data is left unread. */
export function readNodeAnswer(request: http2.ClientHttp2Stream, read = true): Promise<NodeAnswer> {
  return new Promise((resolve) => {
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    request.on("response", (h) => {
      headers = h;
    });
    request.on("trailers", (t) => {
      trailers = t;
    });
    if (read) request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("error", () => {});
    request.on("close", () => {
      const status = trailers["grpc-status"] ?? headers["grpc-status"];
      const message = trailers["grpc-message"] ?? headers["grpc-message"];
      resolve({
        headers,
        body: Buffer.concat(chunks),
        trailers,
        status: typeof status === "string" ? status : undefined,
        message: typeof message === "string" ? message : undefined,
        rstCode: request.rstCode,
      });
    });
  });
}

/** A gRPC-style POST to `path` (content-type application/grpc), plus `headers`. */
export function postGrpc(
  session: http2.ClientHttp2Session,
  path: string,
  headers: http2.OutgoingHttpHeaders = {},
): http2.ClientHttp2Stream {
  return session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    ...headers,
  });
}
