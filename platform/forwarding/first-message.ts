// Buffers the first length-prefixed gRPC message of a request (and nothing more than the chunks
// that carry it), so a proxy can read a routing field and then pass every byte on unchanged.
import type { Http2Stream } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";

export interface FirstMessage {
  /** Every byte read from the stream so far, in order: to be forwarded before the rest. */
  chunks: Buffer[];
  /** The first message's payload (still compressed when `compressed`). */
  payload: Buffer;
  /** The message's compressed flag (first byte of the 5-byte prefix). */
  compressed: boolean;
}

/**
 * Reads until the first message is complete, then pauses the stream. Rejects with
 * RESOURCE_EXHAUSTED as soon as the prefix announces more than maxBytes (nothing more is
 * buffered), INVALID_ARGUMENT when the request ends before one whole message, and CANCELLED
 * when the caller goes away.
 */
export function readFirstMessage(stream: Http2Stream, maxBytes: number): Promise<FirstMessage> {
  return new Promise<FirstMessage>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let needed = 5;
    let header: Buffer | undefined;

    const cleanup = () => {
      stream.pause();
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("close", onClose);
    };
    const fail = (err: ConnectError) => {
      cleanup();
      reject(err);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      if (received < needed) return;
      if (header === undefined) {
        header = chunks.length === 1 ? chunk : Buffer.concat(chunks, received);
        const flag = header[0];
        const length = header.readUInt32BE(1);
        if (flag !== 0 && flag !== 1) {
          fail(new ConnectError(`invalid gRPC message flag ${flag}`, Code.InvalidArgument));
          return;
        }
        if (length > maxBytes) {
          fail(
            new ConnectError(
              `request message of ${length} bytes is larger than the limit of ${maxBytes}`,
              Code.ResourceExhausted,
            ),
          );
          return;
        }
        needed = 5 + length;
        if (received < needed) return;
      }
      cleanup();
      const all = chunks.length === 1 ? chunk : Buffer.concat(chunks, received);
      resolve({ chunks, payload: all.subarray(5, needed), compressed: all[0] === 1 });
    };
    const onEnd = () => {
      fail(
        new ConnectError(
          received === 0
            ? "request has no message"
            : `request ended inside its first message (${received} of ${needed} bytes)`,
          Code.InvalidArgument,
        ),
      );
    };
    const onClose = () => fail(new ConnectError("caller went away", Code.Canceled));

    stream.on("data", onData);
    stream.once("end", onEnd);
    stream.once("close", onClose);
    stream.resume();
  });
}
