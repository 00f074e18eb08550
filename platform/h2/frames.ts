// HTTP/2 wire constants (RFC 9113) and the output side of framing: frames are appended to one
// growing slab per connection, so a burst of small frames leaves in one socket write without a
// Buffer per frame, while large DATA payloads are passed by reference instead of copied.

export const frameHeaderBytes = 9;
export const defaultMaxFrameSize = 16_384;
export const defaultInitialWindowSize = 65_535;
export const maxWindowSize = 2 ** 31 - 1;

export const clientPreface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

// Frame types.
export const DATA = 0x0;
export const HEADERS = 0x1;
export const PRIORITY = 0x2;
export const RST_STREAM = 0x3;
export const SETTINGS = 0x4;
export const PUSH_PROMISE = 0x5;
export const PING = 0x6;
export const GOAWAY = 0x7;
export const WINDOW_UPDATE = 0x8;
export const CONTINUATION = 0x9;

// Frame flags.
export const FLAG_END_STREAM = 0x1;
export const FLAG_ACK = 0x1;
export const FLAG_END_HEADERS = 0x4;
export const FLAG_PADDED = 0x8;
export const FLAG_PRIORITY = 0x20;

// Settings identifiers.
export const SETTINGS_HEADER_TABLE_SIZE = 0x1;
export const SETTINGS_ENABLE_PUSH = 0x2;
export const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
export const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
export const SETTINGS_MAX_FRAME_SIZE = 0x5;
export const SETTINGS_MAX_HEADER_LIST_SIZE = 0x6;

/** HTTP/2 error codes, as RST_STREAM and GOAWAY carry them. */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

const errorCodeNames = new Map<number, string>(
  Object.entries(ErrorCode).map(([name, code]) => [code, name]),
);

/** An HTTP/2 error code as the spec names it, for messages. */
export function errorCodeName(code: number): string {
  return errorCodeNames.get(code) ?? `code ${code}`;
}

/** Settings this side announces or the peer announced; the RFC's defaults where not sent. */
export interface PeerSettings {
  headerTableSize: number;
  maxConcurrentStreams: number;
  initialWindowSize: number;
  maxFrameSize: number;
}

export const defaultSettings: Readonly<PeerSettings> = {
  headerTableSize: 4096,
  maxConcurrentStreams: Number.POSITIVE_INFINITY,
  initialWindowSize: defaultInitialWindowSize,
  maxFrameSize: defaultMaxFrameSize,
};

const slabBytes = 16 * 1024;
/** Payloads at least this long are queued by reference rather than copied into the slab. */
const copyLimit = 2048;

/**
 * Frames waiting for the socket. Small pieces are copied into a slab; `take()` hands over
 * what is queued as a few large buffers. A slab's bytes once taken belong to the socket, so the
 * next frames go after them (or into a fresh slab), never over them.
 */
export class FrameOutput {
  bytes = 0;
  private chunks: Buffer[] = [];
  private slab = Buffer.allocUnsafe(slabBytes);
  private start = 0;
  private pos = 0;

  get empty(): boolean {
    return this.bytes === 0;
  }

  /** Appends a frame header. */
  header(length: number, type: number, flags: number, streamId: number): void {
    this.reserve(frameHeaderBytes);
    const slab = this.slab;
    let p = this.pos;
    slab[p++] = (length >>> 16) & 0xff;
    slab[p++] = (length >>> 8) & 0xff;
    slab[p++] = length & 0xff;
    slab[p++] = type;
    slab[p++] = flags;
    slab.writeUInt32BE(streamId, p);
    this.pos = p + 4;
    this.bytes += frameHeaderBytes;
  }

  /** Appends a 32-bit big-endian value (window increments, error codes, stream ids). */
  uint32(value: number): void {
    this.reserve(4);
    this.slab.writeUInt32BE(value >>> 0, this.pos);
    this.pos += 4;
    this.bytes += 4;
  }

  /** Appends a settings entry. */
  setting(id: number, value: number): void {
    this.reserve(6);
    this.slab.writeUInt16BE(id, this.pos);
    this.slab.writeUInt32BE(value >>> 0, this.pos + 2);
    this.pos += 6;
    this.bytes += 6;
  }

  /** Appends payload bytes; long ones are kept by reference and must not change afterwards. */
  payload(data: Uint8Array): void {
    const n = data.length;
    if (n === 0) return;
    this.bytes += n;
    if (n >= copyLimit) {
      this.seal();
      this.chunks.push(
        Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length),
      );
      return;
    }
    this.reserve(n);
    this.slab.set(data, this.pos);
    this.pos += n;
  }

  /** Everything queued, in order; the output is empty afterwards. */
  take(): Buffer[] {
    this.seal();
    const out = this.chunks;
    this.chunks = [];
    this.bytes = 0;
    return out;
  }

  private seal(): void {
    if (this.pos > this.start) {
      this.chunks.push(this.slab.subarray(this.start, this.pos));
      this.start = this.pos;
    }
  }

  private reserve(n: number): void {
    if (this.slab.length - this.pos >= n) return;
    this.seal();
    this.slab = Buffer.allocUnsafe(Math.max(slabBytes, n));
    this.start = 0;
    this.pos = 0;
  }
}
