// A hand-driven HTTP/2 client over a raw TCP socket, for sending what no well-behaved client
// would: frames are built byte by byte, and what the server answers (GOAWAY, RST_STREAM,
// headers, data) is recorded as it arrives, or not read at all.
import { connect, type Socket } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { TaskRequestSchema } from "../../../gen/agentplatform/v1/platform_pb";
import {
  clientPreface,
  DATA,
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  GOAWAY,
  HEADERS,
  RST_STREAM,
  SETTINGS,
} from "../frames";
import { type HeaderList, HpackDecoder, HpackEncoder } from "../hpack";

/** One frame: 9-byte header and payload. */
export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = Buffer.alloc(0),
): Buffer {
  const out = Buffer.alloc(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId, 5);
  out.set(payload, 9);
  return out;
}

export function uint32(...values: number[]): Buffer {
  const out = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => {
    out.writeUInt32BE(v >>> 0, 4 * i);
  });
  return out;
}

/** A SETTINGS payload from [id, value] pairs. */
export function settings(...pairs: [number, number][]): Buffer {
  const out = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, value], i) => {
    out.writeUInt16BE(id, 6 * i);
    out.writeUInt32BE(value >>> 0, 6 * i + 2);
  });
  return out;
}

/** A gRPC length-prefixed ExecuteTask (or StreamTask) request message. */
export function taskRequestMessage(
  input: string,
  parameters: Record<string, string> = {},
  agentId = "echo-agent",
): Buffer {
  const body = toBinary(
    TaskRequestSchema,
    create(TaskRequestSchema, { agentId, input, parameters }),
  );
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

export function grpcRequestHeaders(method = "ExecuteTask", extra: HeaderList = []): HeaderList {
  return [
    ":method",
    "POST",
    ":scheme",
    "http",
    ":path",
    `/agentplatform.v1.AgentService/${method}`,
    ":authority",
    "edge-test",
    "content-type",
    "application/grpc",
    "te",
    "trailers",
    ...extra,
  ];
}

export interface RawPeerOptions {
  port: number;
  /** Local address to dial from (another loopback address is another peer). Default 127.0.0.1. */
  localAddress?: string;
  /** Acknowledge the server's SETTINGS. Default true. */
  ackSettings?: boolean;
  /** Read what the server sends. Default true; false leaves the socket unread until `startReading`. */
  read?: boolean;
}

export class RawPeer {
  readonly socket: Socket;
  /** Code and arrival time of the server's GOAWAY, once one came. */
  goaway: { code: number; lastStreamId: number; at: number } | undefined;
  /** RST_STREAM codes by stream id. */
  readonly resets = new Map<number, number>();
  /** Decoded header blocks by stream id, in arrival order. */
  readonly headers = new Map<number, HeaderList[]>();
  /** DATA bytes by stream id. */
  readonly data = new Map<number, number>();
  /** Streams the server ended. */
  readonly ended = new Set<number>();
  closedAt: number | undefined;
  readonly openedAt = performance.now();
  readonly encoder = new HpackEncoder();
  private readonly decoder = new HpackDecoder();
  private pending = Buffer.alloc(0);
  private readonly ackSettings: boolean;
  private readonly closed: Promise<void>;

  constructor(options: RawPeerOptions) {
    this.ackSettings = options.ackSettings ?? true;
    this.socket = connect({
      host: "127.0.0.1",
      port: options.port,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    this.socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      this.socket.once("close", () => {
        this.closedAt = performance.now();
        resolve();
      }),
    );
    this.socket.on("data", (chunk: Buffer) => this.receive(chunk));
    if (options.read === false) this.socket.pause();
    this.socket.write(Buffer.concat([clientPreface, frame(SETTINGS, 0, 0)]));
  }

  /** Resolves once the socket is connected. */
  ready(): Promise<void> {
    if (!this.socket.connecting) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.socket.once("connect", () => resolve());
      this.socket.once("error", reject);
    });
  }

  startReading(): void {
    this.socket.resume();
  }

  /** Writes bytes; resolves when the socket took them, or false when it stays full for waitMs. */
  write(bytes: Buffer, waitMs = 2000): Promise<boolean> {
    if (this.socket.destroyed) return Promise.resolve(false);
    if (this.socket.write(bytes)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.off("drain", onDrain);
        resolve(false);
      }, waitMs);
      const onDrain = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.socket.once("drain", onDrain);
    });
  }

  /** A HEADERS frame carrying `headers`, encoded with this peer's HPACK state. */
  headersFrame(streamId: number, headers: HeaderList, flags = FLAG_END_HEADERS): Buffer {
    return frame(HEADERS, flags, streamId, this.encoder.encode(headers));
  }

  /** A complete unary ExecuteTask request on `streamId`. */
  unaryCall(streamId: number, input = "hello", extra: HeaderList = []): Buffer {
    return Buffer.concat([
      this.headersFrame(streamId, grpcRequestHeaders("ExecuteTask", extra)),
      frame(DATA, FLAG_END_STREAM, streamId, taskRequestMessage(input)),
    ]);
  }

  /** Resolves when the socket closed, or after timeoutMs; true if it closed. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.closed.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  /** Polls `check` until it holds, or fails after timeoutMs. */
  async until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!check()) {
      if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    let buf = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= 9) {
      const size = buf.readUIntBE(0, 3);
      if (buf.length < 9 + size) break;
      const type = buf[3] as number;
      const flags = buf[4] as number;
      const id = buf.readUInt32BE(5) & 0x7fffffff;
      const payload = buf.subarray(9, 9 + size);
      buf = buf.subarray(9 + size);
      this.onFrame(type, flags, id, payload);
    }
    this.pending = Buffer.from(buf);
  }

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    switch (type) {
      case SETTINGS:
        if ((flags & FLAG_ACK) === 0 && this.ackSettings && !this.socket.destroyed) {
          this.socket.write(frame(SETTINGS, FLAG_ACK, 0));
        }
        return;
      case GOAWAY:
        this.goaway ??= {
          lastStreamId: payload.readUInt32BE(0),
          code: payload.readUInt32BE(4),
          at: performance.now(),
        };
        return;
      case RST_STREAM:
        this.resets.set(id, payload.readUInt32BE(0));
        return;
      case HEADERS: {
        // The server sends neither padding nor priority, nor CONTINUATION for small lists.
        const list: HeaderList = [];
        this.decoder.decode(payload, list);
        const blocks = this.headers.get(id) ?? [];
        blocks.push(list);
        this.headers.set(id, blocks);
        if ((flags & FLAG_END_STREAM) !== 0) this.ended.add(id);
        return;
      }
      case DATA:
        this.data.set(id, (this.data.get(id) ?? 0) + payload.length);
        if ((flags & FLAG_END_STREAM) !== 0) this.ended.add(id);
        return;
      default:
    }
  }

  /** grpc-status of a stream the server ended, from its last header block. */
  grpcStatus(streamId: number): string | undefined {
    const blocks = this.headers.get(streamId);
    const last = blocks?.[blocks.length - 1];
    if (last === undefined) return undefined;
    for (let i = 0; i < last.length; i += 2) if (last[i] === "grpc-status") return last[i + 1];
    return undefined;
  }
}
