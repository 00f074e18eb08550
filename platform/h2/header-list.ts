// Reading and writing header lists ([name, value, ...], as HPACK gives them) the way a gRPC
// proxy needs: one value by name, and the statuses a proxy answers with itself.
import { encodeGrpcMessage } from "../forwarding/grpc-status";
import type { HeaderList } from "./hpack";

/** The first value of `name` in the list, or undefined. */
export function headerValue(headers: HeaderList, name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] === name) return headers[i + 1];
  }
  return undefined;
}

/** grpc-status (and grpc-message when there is one), as trailers. */
export function statusTrailerList(code: number, message: string): HeaderList {
  return message === ""
    ? ["grpc-status", String(code)]
    : ["grpc-status", String(code), "grpc-message", encodeGrpcMessage(message)];
}

/** A complete Trailers-Only response: HTTP 200, content-type, grpc-status and grpc-message. */
export function trailersOnlyList(code: number, message: string): HeaderList {
  return [
    ":status",
    "200",
    "content-type",
    "application/grpc",
    ...statusTrailerList(code, message),
  ];
}
