// Buffers the first length-prefixed gRPC message of a request (and nothing more than the chunks
// that carry it), so a proxy can read a routing field and then pass every byte on unchanged.
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
 * Collects request chunks until the first message is complete. `push` returns the message once
 * it is, undefined while more bytes are needed, and throws a ConnectError with
 * RESOURCE_EXHAUSTED as soon as the prefix announces more than maxBytes (nothing more is
 * buffered) or INVALID_ARGUMENT for a bad flag byte.
 */
export class FirstMessageReader {
  readonly chunks: Buffer[] = [];
  private received = 0;
  private needed = 5;
  private headerRead = false;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): FirstMessage | undefined {
    const chunks = this.chunks;
    chunks.push(chunk);
    this.received += chunk.length;
    if (this.received < this.needed) return undefined;
    if (!this.headerRead) {
      this.headerRead = true;
      const header = chunks.length === 1 ? chunk : Buffer.concat(chunks, this.received);
      const flag = header[0];
      const length = header.readUInt32BE(1);
      if (flag !== 0 && flag !== 1) {
        throw new ConnectError(`invalid gRPC message flag ${flag}`, Code.InvalidArgument);
      }
      if (length > this.maxBytes) {
        throw new ConnectError(
          `request message of ${length} bytes is larger than the limit of ${this.maxBytes}`,
          Code.ResourceExhausted,
        );
      }
      this.needed = 5 + length;
      if (this.received < this.needed) return undefined;
    }
    // The common case, one chunk holding the whole message, copies nothing.
    const all = chunks.length === 1 ? chunk : Buffer.concat(chunks, this.received);
    return { chunks, payload: all.subarray(5, this.needed), compressed: all[0] === 1 };
  }

  /** Why the request cannot be read, when it ended before its first message was complete. */
  endedEarly(): ConnectError {
    return new ConnectError(
      this.received === 0
        ? "request has no message"
        : `request ended inside its first message (${this.received} of ${this.needed} bytes)`,
      Code.InvalidArgument,
    );
  }
}
