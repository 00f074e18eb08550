// Reads what a node:http2 client stream received, for tests that check a peer's answers.
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
