// gRPC statuses written by a proxy itself: Trailers-Only when nothing was sent yet (so proxies
// and clients see the code in the first HEADERS frame), trailers after a started response.
import type { OutgoingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { constants } from "node:http2";

/** Percent-encodes a grpc-message value as the gRPC spec asks (UTF-8, then %XX outside 0x20-0x7E and "%"). */
export function encodeGrpcMessage(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export function decodeGrpcMessage(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function statusTrailers(code: number, message: string): OutgoingHttpHeaders {
  return message === ""
    ? { "grpc-status": String(code) }
    : { "grpc-status": String(code), "grpc-message": encodeGrpcMessage(message) };
}

/** A complete Trailers-Only response: HTTP 200, content-type, grpc-status and grpc-message. */
function trailersOnlyHeaders(code: number, message: string): OutgoingHttpHeaders {
  return {
    ":status": 200,
    "content-type": "application/grpc",
    ...statusTrailers(code, message),
  };
}

/**
 * Ends a call with a status. Before the response started it is one Trailers-Only HEADERS frame;
 * after, the status goes in the trailers (a bare stream must have been answered with
 * `waitForTrailers`, and nothing else may send them). A request still being uploaded is then
 * reset with NO_ERROR so the client stops sending, as HTTP/2 allows once the response is
 * complete. `code` is a gRPC status number: 0 for OK, else a Code.
 */
export function endWithStatus(stream: ServerHttp2Stream, code: number, message: string): void {
  if (stream.destroyed || stream.closed) return;
  if (!stream.headersSent) {
    stream.respond(trailersOnlyHeaders(code, message), { endStream: true });
  } else if (!stream.writableEnded) {
    const trailers = statusTrailers(code, message);
    stream.once("wantTrailers", () => {
      if (!stream.closed) stream.sendTrailers(trailers);
    });
    stream.end();
  } else {
    return;
  }
  stopUpload(stream);
}

/** Once the response is complete, resets a request still being uploaded (NO_ERROR). */
export function stopUpload(stream: ServerHttp2Stream): void {
  if (stream.readableEnded) return;
  stream.once("finish", closeSoon);
  stream.resume();
}

// Node 22 sends an RST_STREAM issued from 'finish' ahead of the response's final HEADERS frame,
// and the caller never sees its status; one turn of the event loop later both go out in order.
function closeSoon(this: ServerHttp2Stream): void {
  setImmediate(closeWithNoError, this);
}

function closeWithNoError(stream: ServerHttp2Stream): void {
  if (!stream.closed) stream.close(constants.NGHTTP2_NO_ERROR);
}
