// One HTTP/2 connection (RFC 9113) over any duplex socket, as server or client, written for a
// relay: frames are parsed straight out of the socket's chunks (DATA payloads are handed on as
// views, never copied), header blocks go through our own HPACK, and everything written during
// one turn of the event loop leaves in one socket write. Flow control is explicit: received
// bytes are credited back to the peer only when the owner calls `consume`, so a relay returns
// credit once it has passed the bytes on, and a slow reader on one side holds back the other.
import type { Duplex } from "node:stream";
import { defaultEdgeLimits, type EdgeLimits } from "./edge-limits";
import { requestFieldProblem, trailerFieldProblem } from "./field-validation";
import {
  CONTINUATION,
  clientPreface,
  DATA,
  defaultInitialWindowSize,
  defaultMaxFrameSize,
  defaultSettings,
  ErrorCode,
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  FLAG_PADDED,
  FLAG_PRIORITY,
  FrameOutput,
  GOAWAY,
  HEADERS,
  maxWindowSize,
  type PeerSettings,
  PING,
  PRIORITY,
  PUSH_PROMISE,
  RST_STREAM,
  SETTINGS,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_HEADER_TABLE_SIZE,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_CONCURRENT_STREAMS,
  SETTINGS_MAX_FRAME_SIZE,
  SETTINGS_MAX_HEADER_LIST_SIZE,
  WINDOW_UPDATE,
} from "./frames";
import { type HeaderList, HpackDecoder, HpackEncoder } from "./hpack";

/**
 * Why a stream ended without completing:
 * - reset: the peer sent RST_STREAM (its code is given);
 * - refused: the peer's GOAWAY says it never processed the stream (safe to retry anywhere);
 * - connection: the connection failed or closed under the stream.
 */
export type StreamAbortReason = "reset" | "refused" | "connection";

/** What the owner of a stream hears; one object per stream, usually the owner itself. */
export interface H2StreamHandler {
  /** HEADERS after the request's: response headers or trailers (client), trailers (server). */
  onHeaders(stream: H2Stream, headers: HeaderList, endStream: boolean): void;
  /** Payload of one DATA frame; a view into the socket's chunk. Call `consume` once passed on. */
  onData(stream: H2Stream, data: Buffer, endStream: boolean): void;
  onAbort(stream: H2Stream, code: number, reason: StreamAbortReason): void;
  /** Data that `sendData` had to hold back (flow control, full socket) has gone out. */
  onDrain(stream: H2Stream): void;
}

export interface H2ConnectionOptions {
  role: "server" | "client";
  /** Streams the peer may have open at once (announced; more are refused). Default 256. */
  maxConcurrentStreams?: number;
  /** Receive window of each stream. Default 1 MiB. */
  initialWindowSize?: number;
  /** Receive window of the whole connection. Default 16 MiB. */
  connectionWindowSize?: number;
  /** Largest request header list accepted (announced). Default 64 KiB. */
  maxHeaderListSize?: number;
  /** What one peer may make this connection do (header blocks, control frames, resets). */
  edge?: EdgeLimits;
  /**
   * Return connection-level receive window as DATA is taken off the socket rather than when the
   * owner consumes it, so a stream whose owner does not consume holds only its own window
   * (for connections shared by many callers). Default false.
   */
  creditConnectionOnReceipt?: boolean;
  /** Server: a request stream opened by the peer. `headerBytes` is its header list size. */
  onStream?(stream: H2Stream, headers: HeaderList, endStream: boolean, headerBytes: number): void;
  /** The peer's first SETTINGS frame arrived: it speaks HTTP/2. */
  onReady?(connection: H2Connection): void;
  onGoaway?(connection: H2Connection, lastStreamId: number, code: number): void;
  /** The socket closed; every stream still open has been aborted. */
  onClose?(connection: H2Connection): void;
}

/** Streams a client assumes it may open before the server's SETTINGS say otherwise. */
const assumedStreamLimit = 100;
const maxStreamId = 2 ** 31 - 1;
/** A reset this soon after the stream opened is premature (Envoy's default: 1 s). */
const prematureResetMs = 1000;
/** Opaque data of the PING that follows our GOAWAY. */
const goawayPing = 0x60a7;

/** One stream; its owner sets `handler` and talks to the peer through these methods. */
export class H2Stream {
  handler: H2StreamHandler | undefined = undefined;
  localEnded = false;
  remoteEnded = false;
  closed = false;
  sendWindow: number;
  recvWindow: number;
  /** Received bytes not yet given back with `consume`. */
  unconsumed = 0;
  /** Data moved either way since the owner last cleared this; for idle-stream checks. */
  moved = true;
  /** Checks of the owner that found the stream idle in a row; for idle-stream checks. */
  idleChecks = 0;
  /** The request carries a deadline, so it is never ended for idling. */
  hasDeadline = false;
  /** performance.now() when the peer opened it (server); for telling premature resets. */
  openedAt = 0;
  private credit = 0;
  /** Data (then trailers, or the end) held back by flow control. */
  queue: Buffer[] | undefined = undefined;
  queuedEnd = false;
  queuedTrailers: HeaderList | undefined = undefined;
  waitsForDrain = false;

  constructor(
    readonly connection: H2Connection,
    readonly id: number,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Sends HEADERS (request, response, or with endStream a Trailers-Only response). */
  sendHeaders(headers: HeaderList, endStream: boolean): void {
    if (this.closed || this.localEnded) return;
    this.connection.writeHeaders(this, headers, endStream);
  }

  /**
   * Sends data, as much as flow control allows now; the rest is queued. Returns true when it
   * all went to the socket and the socket is not backed up; false means `onDrain` follows.
   */
  sendData(data: Buffer, endStream: boolean): boolean {
    if (this.closed || this.localEnded) return true;
    const connection = this.connection;
    if (this.queue !== undefined) {
      this.queue.push(data);
      if (endStream) this.queuedEnd = true;
      return false;
    }
    const sent = connection.writeData(this, data, endStream);
    if (sent < data.length) {
      this.queue = [data.subarray(sent)];
      this.queuedEnd = endStream;
      connection.block(this);
      return false;
    }
    if (connection.congested) {
      connection.waitForDrain(this);
      return false;
    }
    return true;
  }

  /** Ends the stream with trailers, after any data still queued. */
  sendTrailers(headers: HeaderList): void {
    if (this.closed || this.localEnded) return;
    if (this.queue !== undefined) {
      this.queuedTrailers = headers;
      this.queuedEnd = true;
      return;
    }
    this.connection.writeHeaders(this, headers, true);
  }

  /** Ends the stream at once with RST_STREAM. */
  reset(code: number): void {
    if (this.closed) return;
    this.connection.writeReset(this.id, code);
    this.connection.closeStream(this);
  }

  /** Gives back receive window for `bytes` the owner has passed on. */
  consume(bytes: number): void {
    const n = Math.min(bytes, this.unconsumed);
    if (n <= 0) return;
    this.unconsumed -= n;
    const connection = this.connection;
    if (!connection.creditsOnReceipt) connection.credit(n);
    if (this.remoteEnded || this.closed) return;
    this.credit += n;
    if (this.credit >= connection.streamCreditThreshold) {
      connection.writeWindowUpdate(this.id, this.credit);
      this.recvWindow += this.credit;
      this.credit = 0;
    }
  }
}

/** An HTTP/2 connection over `socket`, which must already be connected or connecting. */
export class H2Connection {
  readonly role: "server" | "client";
  readonly streams = new Map<number, H2Stream>();
  /** Set once the peer's first SETTINGS frame arrived. */
  ready = false;
  /** Set once the socket closed. */
  closed = false;
  /** Whether the socket has connected (a client's owner clears and sets this). */
  connected = true;
  /** The peer's address, for x-forwarded-for; set by whoever accepted the socket. */
  peerAddress = "";
  /** The socket holds more than it could take at once; waiting for 'drain'. */
  congested = false;
  /** Last stream id from the peer's GOAWAY, once one arrived. */
  goawayReceived: number | undefined = undefined;
  /** Last stream id we promised to process in our GOAWAY, once sent. */
  goawaySent: number | undefined = undefined;
  /** Error code of the GOAWAY or failure that ended the connection, for messages. */
  endCode: number | undefined = undefined;
  /** Frames (any) arrived since the owner last cleared this; for idle and keepalive checks. */
  sawFrames = false;
  /** A stream was opened since the owner last cleared this; for idle checks. */
  streamsOpened = false;
  /** The peer sent a PING of its own (keepalive) since the owner last cleared this. */
  peerPinged = false;
  /** performance.now() of an unanswered PING, 0 when none is out. */
  pingSentAt = 0;
  readonly peer: PeerSettings = { ...defaultSettings, maxConcurrentStreams: assumedStreamLimit };
  readonly streamCreditThreshold: number;
  /** Connection window is returned as DATA arrives (see the option). */
  readonly creditsOnReceipt: boolean;

  private readonly options: H2ConnectionOptions;
  private readonly maxConcurrentStreams: number;
  private readonly initialWindowSize: number;
  private readonly maxHeaderListSize: number;
  private readonly edge: EdgeLimits;
  private readonly decoder = new HpackDecoder();
  private readonly encoder = new HpackEncoder();
  private readonly out = new FrameOutput();
  private flushScheduled = false;
  private failed = false;
  /** The peer answered the PING sent after our GOAWAY. */
  private goawayAcked = true;
  private endAfterFlush = false;
  private sendWindow = defaultInitialWindowSize;
  private recvWindow: number;
  private readonly connectionCreditThreshold: number;
  private connectionCredit = 0;
  private lastPeerStreamId = 0;
  private nextStreamId = 1;
  private prefaceLeft: number;
  private readonly blocked = new Set<H2Stream>();
  private drainWaiters: H2Stream[] = [];
  // Input not yet parsed: chunks held until `inNeed` bytes are there.
  private inParts: Buffer[] = [];
  private inBytes = 0;
  private inNeed = 0;
  // A header block spread over HEADERS and CONTINUATION frames.
  private blockStream = 0;
  private blockEndStream = false;
  private blockParts: Buffer[] = [];
  private blockBytes = 0;
  private blockFrames = 0;
  private blockStartedAt = 0;
  /** Bytes the peer sent after the connection failed, read only to be dropped. */
  private discarded = 0;
  /** Answers to the peer's frames queued since the socket last took everything. */
  private controlQueued = 0;
  /** performance.now() when reading stopped because the peer does not read; 0 when reading. */
  private pausedAt = 0;
  /** Resets the peer may still cause before the budget runs out, and when it was last refilled. */
  private resetTokens: number;
  private resetRefilledAt = 0;
  /** performance.now() when our unacknowledged SETTINGS went out; 0 when none waits. */
  private settingsSentAt = 0;
  /** Stream ids this side reset lately; the peer's frames for them may still be in flight. */
  private readonly recentlyReset = new Int32Array(256);
  private recentlyResetAt = 0;

  constructor(
    readonly socket: Duplex,
    options: H2ConnectionOptions,
  ) {
    this.options = options;
    this.role = options.role;
    this.maxConcurrentStreams = options.maxConcurrentStreams ?? 256;
    this.initialWindowSize = options.initialWindowSize ?? 1024 * 1024;
    this.maxHeaderListSize = options.maxHeaderListSize ?? 64 * 1024;
    this.edge = options.edge ?? defaultEdgeLimits;
    this.resetTokens = this.edge.resetBurst;
    this.creditsOnReceipt = options.creditConnectionOnReceipt ?? false;
    const connectionWindow = options.connectionWindowSize ?? 16 * 1024 * 1024;
    this.recvWindow = connectionWindow;
    this.streamCreditThreshold = this.initialWindowSize >>> 2;
    this.connectionCreditThreshold = connectionWindow >>> 2;
    this.prefaceLeft = this.role === "server" ? clientPreface.length : 0;
    if (this.role === "client") {
      this.out.payload(clientPreface);
      this.out.header(12, SETTINGS, 0, 0);
      this.out.setting(SETTINGS_ENABLE_PUSH, 0);
      this.out.setting(SETTINGS_INITIAL_WINDOW_SIZE, this.initialWindowSize);
    } else {
      this.out.header(18, SETTINGS, 0, 0);
      this.out.setting(SETTINGS_MAX_CONCURRENT_STREAMS, this.maxConcurrentStreams);
      this.out.setting(SETTINGS_INITIAL_WINDOW_SIZE, this.initialWindowSize);
      this.out.setting(SETTINGS_MAX_HEADER_LIST_SIZE, this.maxHeaderListSize);
    }
    this.settingsSentAt = performance.now();
    if (connectionWindow > defaultInitialWindowSize) {
      this.writeWindowUpdate(0, connectionWindow - defaultInitialWindowSize);
    }
    this.scheduleFlush();
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("drain", () => this.drained());
    socket.on("error", () => {});
    socket.on("close", () => this.socketClosed());
  }

  /** Connection-level send window left: 0 or less means no DATA can go until the peer credits. */
  get sendWindowLeft(): number {
    return this.sendWindow;
  }

  /** Streams open now. */
  get activeStreams(): number {
    return this.streams.size;
  }

  /** Whether a new stream may be opened (client) without exceeding the peer's limits. */
  canOpen(): boolean {
    return (
      !this.closed &&
      !this.failed &&
      this.goawayReceived === undefined &&
      this.goawaySent === undefined &&
      this.streams.size < this.peer.maxConcurrentStreams &&
      this.nextStreamId < maxStreamId
    );
  }

  /** Client: opens a stream and sends its request headers. Check `canOpen()` first. */
  openStream(handler: H2StreamHandler, headers: HeaderList, endStream: boolean): H2Stream {
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new H2Stream(this, id, this.peer.initialWindowSize, this.initialWindowSize);
    stream.handler = handler;
    this.streamsOpened = true;
    this.streams.set(id, stream);
    this.writeHeaders(stream, headers, endStream);
    return stream;
  }

  /** Sends PING; the answer clears `pingSentAt`. */
  ping(now: number, opaque = 0): void {
    if (this.closed) return;
    this.pingSentAt = now;
    this.out.header(8, PING, 0, 0);
    this.out.uint32(0);
    this.out.uint32(opaque);
    this.scheduleFlush();
  }

  /**
   * Graceful end: GOAWAY naming the last stream this side will process; the connection closes
   * once the streams still open have ended.
   */
  goaway(code: number = ErrorCode.NO_ERROR): void {
    if (this.closed || this.goawaySent !== undefined) return;
    this.goawaySent = this.lastPeerStreamId;
    this.writeGoaway(this.lastPeerStreamId, code);
    // The connection closes once the peer has answered a PING sent after the GOAWAY (so it has
    // seen the GOAWAY, and any stream it opened before is refused here rather than lost) and
    // no stream is left open. A peer that never answers is dropped by the keepalive check.
    this.goawayAcked = false;
    this.ping(performance.now(), goawayPing);
  }

  /**
   * Resets every open stream with `code` (so the peer's calls end with an error it can act on,
   * rather than with the connection) and closes the connection once that is written.
   */
  abort(code: number): void {
    if (this.closed) return;
    this.endCode = code;
    for (const stream of [...this.streams.values()]) {
      this.writeReset(stream.id, code);
      this.closeStream(stream);
      stream.handler?.onAbort(stream, code, "connection");
    }
    this.endSoon();
  }

  /** Ends the connection with GOAWAY carrying `code` (a connection error of this side's). */
  refuse(code: number): void {
    this.fail(code);
  }

  /** Ends the connection at once: every open stream is aborted. */
  destroy(code: number = ErrorCode.CANCEL): void {
    if (this.closed) return;
    this.endCode = code;
    this.socket.destroy();
  }

  // --- output ---

  writeHeaders(stream: H2Stream, headers: HeaderList, endStream: boolean): void {
    const block = this.encoder.encode(headers);
    const max = this.peer.maxFrameSize;
    const out = this.out;
    const end = endStream ? FLAG_END_STREAM : 0;
    if (block.length <= max) {
      out.header(block.length, HEADERS, end | FLAG_END_HEADERS, stream.id);
      out.payload(block);
    } else {
      out.header(max, HEADERS, end, stream.id);
      out.payload(block.subarray(0, max));
      let at = max;
      while (at < block.length) {
        const n = Math.min(max, block.length - at);
        out.header(n, CONTINUATION, at + n === block.length ? FLAG_END_HEADERS : 0, stream.id);
        out.payload(block.subarray(at, at + n));
        at += n;
      }
    }
    this.scheduleFlush();
    if (endStream) {
      stream.localEnded = true;
      if (stream.remoteEnded) this.closeStream(stream);
    }
  }

  /** Writes as much of `data` as the windows allow; returns how many bytes went. */
  writeData(stream: H2Stream, data: Buffer, endStream: boolean): number {
    const n = data.length;
    const out = this.out;
    stream.moved = true;
    let at = 0;
    if (n === 0) {
      out.header(0, DATA, endStream ? FLAG_END_STREAM : 0, stream.id);
    } else {
      const maxFrame = this.peer.maxFrameSize;
      while (at < n) {
        let room = Math.min(stream.sendWindow, this.sendWindow);
        if (room > maxFrame) room = maxFrame;
        if (room <= 0) break;
        const take = Math.min(room, n - at);
        const last = at + take === n;
        out.header(take, DATA, last && endStream ? FLAG_END_STREAM : 0, stream.id);
        out.payload(at === 0 && last ? data : data.subarray(at, at + take));
        stream.sendWindow -= take;
        this.sendWindow -= take;
        at += take;
      }
    }
    this.scheduleFlush();
    if (at === n && endStream) {
      stream.localEnded = true;
      if (stream.remoteEnded) this.closeStream(stream);
    }
    return at;
  }

  writeReset(id: number, code: number): void {
    this.recentlyReset[this.recentlyResetAt++ & 255] = id;
    this.out.header(4, RST_STREAM, 0, id);
    this.out.uint32(code);
    this.scheduleFlush();
  }

  writeWindowUpdate(id: number, increment: number): void {
    this.out.header(4, WINDOW_UPDATE, 0, id);
    this.out.uint32(increment);
    this.scheduleFlush();
  }

  /** Gives back connection-level receive window. */
  credit(bytes: number): void {
    this.connectionCredit += bytes;
    if (this.connectionCredit >= this.connectionCreditThreshold && !this.closed) {
      this.writeWindowUpdate(0, this.connectionCredit);
      this.recvWindow += this.connectionCredit;
      this.connectionCredit = 0;
    }
  }

  block(stream: H2Stream): void {
    this.blocked.add(stream);
  }

  waitForDrain(stream: H2Stream): void {
    if (stream.waitsForDrain) return;
    stream.waitsForDrain = true;
    this.drainWaiters.push(stream);
  }

  closeStream(stream: H2Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream.id);
    if (stream.unconsumed > 0) {
      if (!this.creditsOnReceipt) this.credit(stream.unconsumed);
      stream.unconsumed = 0;
    }
    // A stream the peer saw through to the end earns back one reset of its budget.
    if (stream.remoteEnded && stream.localEnded && this.resetTokens < this.edge.resetBurst) {
      this.resetTokens++;
    }
    if (stream.queue !== undefined) {
      stream.queue = undefined;
      this.blocked.delete(stream);
    }
    if (
      this.streams.size === 0 &&
      ((this.goawaySent !== undefined && this.goawayAcked) || this.goawayReceived !== undefined)
    ) {
      this.endSoon();
    }
  }

  private writeGoaway(lastStreamId: number, code: number): void {
    this.out.header(8, GOAWAY, 0, 0);
    this.out.uint32(lastStreamId);
    this.out.uint32(code);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    pendingFlush.push(this);
    if (pendingFlush.length === 1) setImmediate(flushPending);
  }

  /** @internal called on the next tick after output was queued. */
  flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    const socket = this.socket;
    if (!this.out.empty) {
      const chunks = this.out.take();
      let ok: boolean;
      if (chunks.length === 1) {
        ok = socket.write(chunks[0]);
      } else {
        socket.cork();
        ok = true;
        for (const chunk of chunks) ok = socket.write(chunk);
        socket.uncork();
      }
      if (!ok) this.congested = true;
      else this.controlQueued = 0;
    }
    if (this.endAfterFlush) {
      socket.end();
      const timer = setTimeout(() => socket.destroy(), 5000);
      timer.unref();
    }
  }

  private endSoon(): void {
    this.endAfterFlush = true;
    this.scheduleFlush();
  }

  private drained(): void {
    this.congested = false;
    this.controlQueued = 0;
    if (this.pausedAt !== 0) {
      this.pausedAt = 0;
      this.socket.resume();
    }
    const waiters = this.drainWaiters;
    if (waiters.length === 0) return;
    this.drainWaiters = [];
    for (const stream of waiters) {
      stream.waitsForDrain = false;
      if (!stream.closed && stream.queue === undefined) stream.handler?.onDrain(stream);
    }
  }

  private socketClosed(): void {
    if (this.closed) return;
    this.closed = true;
    const streams = [...this.streams.values()];
    this.streams.clear();
    this.blocked.clear();
    for (const stream of streams) {
      stream.closed = true;
      stream.handler?.onAbort(stream, this.endCode ?? ErrorCode.INTERNAL_ERROR, "connection");
    }
    this.options.onClose?.(this);
  }

  /**
   * Ends the connection when a deadline of the protocol passed: a header block left open, our
   * SETTINGS not acknowledged, or a peer that stopped reading while answers wait. The owner
   * calls this about once a second.
   */
  checkTimers(now: number): void {
    if (this.closed || this.failed) return;
    const edge = this.edge;
    if (this.blockStream !== 0 && now - this.blockStartedAt > edge.headerBlockTimeoutMs) {
      this.fail(ErrorCode.ENHANCE_YOUR_CALM);
    } else if (this.settingsSentAt !== 0 && now - this.settingsSentAt > edge.settingsTimeoutMs) {
      this.fail(ErrorCode.SETTINGS_TIMEOUT);
    } else if (this.pausedAt !== 0 && now - this.pausedAt > edge.stalledPeerTimeoutMs) {
      this.fail(ErrorCode.ENHANCE_YOUR_CALM);
    }
  }

  /**
   * Counts one answer to a peer's frame (an acknowledgement, a reset). A peer that makes us
   * answer faster than it reads is no longer read, then dropped with ENHANCE_YOUR_CALM.
   */
  private answered(): void {
    const queued = ++this.controlQueued;
    if (queued <= 100) return;
    const max = this.edge.maxQueuedControlFrames;
    if (queued > max) {
      this.fail(ErrorCode.ENHANCE_YOUR_CALM);
    } else if (this.congested && this.pausedAt === 0 && queued > max / 10) {
      this.pausedAt = performance.now();
      this.socket.pause();
    }
  }

  /**
   * Spends one reset from the peer's budget (nghttp2's token bucket: a burst, refilled at a
   * rate, and here also by every stream that completes); false once it ran out and the
   * connection ended with ENHANCE_YOUR_CALM.
   */
  private spendReset(): boolean {
    if (this.role !== "server") return true;
    const edge = this.edge;
    const now = performance.now();
    if (this.resetTokens < edge.resetBurst && this.resetRefilledAt !== 0) {
      const regained = ((now - this.resetRefilledAt) / 1000) * edge.resetRatePerSecond;
      this.resetTokens = Math.min(edge.resetBurst, this.resetTokens + regained);
    }
    this.resetRefilledAt = now;
    if (this.resetTokens < 1) {
      this.fail(ErrorCode.ENHANCE_YOUR_CALM);
      return false;
    }
    this.resetTokens--;
    return true;
  }

  private wasRecentlyReset(id: number): boolean {
    return this.recentlyReset.includes(id);
  }

  /** A connection error (RFC 9113 5.4.1): GOAWAY with the code, then the socket closes. */
  private fail(code: number): void {
    if (this.closed || this.failed) return;
    this.failed = true;
    this.endCode = code;
    this.writeGoaway(this.lastPeerStreamId, code);
    this.endSoon();
    const streams = [...this.streams.values()];
    this.streams.clear();
    this.blocked.clear();
    for (const stream of streams) {
      stream.closed = true;
      stream.handler?.onAbort(stream, code, "connection");
    }
  }

  // --- input ---

  private receive(chunk: Buffer): void {
    if (this.failed) {
      // After our GOAWAY only the close is awaited; a peer that keeps sending is no longer read.
      this.discarded += chunk.length;
      if (this.discarded > 1024 * 1024) this.socket.pause();
      return;
    }
    this.sawFrames = true;
    let buf = chunk;
    if (this.inBytes > 0) {
      this.inParts.push(chunk);
      this.inBytes += chunk.length;
      if (this.inBytes < this.inNeed) return;
      buf = Buffer.concat(this.inParts, this.inBytes);
      this.inParts = [];
      this.inBytes = 0;
    }
    let at = 0;
    if (this.prefaceLeft > 0) {
      const offset = clientPreface.length - this.prefaceLeft;
      const n = Math.min(this.prefaceLeft, buf.length);
      if (buf.compare(clientPreface, offset, offset + n, 0, n) !== 0) {
        // Not HTTP/2 with prior knowledge (an HTTP/1.1 request, TLS to a plain port...).
        this.fail(ErrorCode.PROTOCOL_ERROR);
        return;
      }
      this.prefaceLeft -= n;
      at = n;
    }
    const length = buf.length;
    while (length - at >= 9) {
      const size = (buf[at] << 16) | (buf[at + 1] << 8) | (buf[at + 2] as number);
      if (size > defaultMaxFrameSize) {
        this.fail(ErrorCode.FRAME_SIZE_ERROR);
        return;
      }
      if (length - at < 9 + size) break;
      const type = buf[at + 3] as number;
      const flags = buf[at + 4] as number;
      const id = buf.readUInt32BE(at + 5) & 0x7fffffff;
      const start = at + 9;
      at = start + size;
      this.frame(type, flags, id, buf.subarray(start, at));
      if (this.failed || this.closed) return;
    }
    if (at < length) {
      const rest = at === 0 ? buf : buf.subarray(at);
      this.inParts.push(rest);
      this.inBytes = rest.length;
      this.inNeed =
        rest.length >= 9 ? 9 + ((rest[0] << 16) | (rest[1] << 8) | (rest[2] as number)) : 9;
    }
  }

  private frame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.blockStream !== 0 && (type !== CONTINUATION || id !== this.blockStream)) {
      this.fail(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    switch (type) {
      case DATA:
        this.onDataFrame(flags, id, payload);
        return;
      case HEADERS:
        this.onHeadersFrame(flags, id, payload);
        return;
      case CONTINUATION:
        this.onContinuation(flags, id, payload);
        return;
      case RST_STREAM:
        this.onReset(id, payload);
        return;
      case SETTINGS:
        this.onSettings(flags, id, payload);
        return;
      case PING:
        this.onPing(flags, id, payload);
        return;
      case GOAWAY:
        this.onGoaway(id, payload);
        return;
      case WINDOW_UPDATE:
        this.onWindowUpdate(id, payload);
        return;
      case PRIORITY:
        if (id === 0) this.fail(ErrorCode.PROTOCOL_ERROR);
        return;
      case PUSH_PROMISE:
        // Push is turned off by our SETTINGS (client) and never sent by clients (server).
        this.fail(ErrorCode.PROTOCOL_ERROR);
        return;
      default:
      // Unknown frame types are ignored (RFC 9113 4.1).
    }
  }

  private onDataFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    const size = payload.length;
    this.recvWindow -= size;
    if (this.recvWindow < 0) {
      this.fail(ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    if (this.creditsOnReceipt) this.credit(size);
    const stream = this.streams.get(id);
    if (stream === undefined || stream.remoteEnded) {
      // A stream already ended or reset here: its data still counts against the connection.
      if (!this.creditsOnReceipt) this.credit(size);
      if (stream !== undefined) this.streamError(stream, ErrorCode.STREAM_CLOSED);
      else if (this.isIdle(id)) this.fail(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    let data = payload;
    if ((flags & FLAG_PADDED) !== 0) {
      const pad = size > 0 ? (payload[0] as number) : 0;
      if (size === 0 || pad >= size) {
        this.fail(ErrorCode.PROTOCOL_ERROR);
        return;
      }
      data = payload.subarray(1, size - pad);
    }
    stream.recvWindow -= size;
    if (stream.recvWindow < 0) {
      if (!this.creditsOnReceipt) this.credit(size);
      this.streamError(stream, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    stream.unconsumed += size;
    stream.moved = true;
    if (data.length < size) stream.consume(size - data.length);
    const end = (flags & FLAG_END_STREAM) !== 0;
    if (end) stream.remoteEnded = true;
    stream.handler?.onData(stream, data, end);
    if (end && stream.localEnded) this.closeStream(stream);
  }

  private onHeadersFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    let start = 0;
    let end = payload.length;
    if ((flags & FLAG_PADDED) !== 0) {
      start = 1;
      end -= payload.length > 0 ? (payload[0] as number) : 1;
    }
    if ((flags & FLAG_PRIORITY) !== 0) start += 5;
    if (start > end) {
      this.fail(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    const fragment = payload.subarray(start, end);
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    if ((flags & FLAG_END_HEADERS) !== 0) {
      this.headerBlock(id, endStream, fragment);
      return;
    }
    this.blockStream = id;
    this.blockEndStream = endStream;
    this.blockParts = [fragment];
    this.blockBytes = fragment.length;
    this.blockFrames = 0;
    this.blockStartedAt = performance.now();
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    if (this.blockStream === 0 || id !== this.blockStream) {
      this.fail(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    this.blockParts.push(payload);
    this.blockBytes += payload.length;
    // A block is bounded in frames (empty CONTINUATION frames add no bytes but cost work) and in
    // bytes (a compressed block can expand; no more than a few header lists' worth is buffered).
    if (
      ++this.blockFrames > this.edge.maxContinuationFrames ||
      this.blockBytes > 4 * this.maxHeaderListSize
    ) {
      this.fail(ErrorCode.ENHANCE_YOUR_CALM);
      return;
    }
    if ((flags & FLAG_END_HEADERS) === 0) return;
    const block = Buffer.concat(this.blockParts, this.blockBytes);
    this.blockStream = 0;
    this.blockParts = [];
    this.blockBytes = 0;
    this.headerBlock(id, this.blockEndStream, block);
  }

  private headerBlock(id: number, endStream: boolean, block: Buffer): void {
    const headers: HeaderList = [];
    const limit = this.maxHeaderListSize;
    let size: number;
    try {
      // Past the limit the decoder keeps its table in step but builds no more of the list.
      size = this.decoder.decode(block, headers, limit);
    } catch {
      this.fail(ErrorCode.COMPRESSION_ERROR);
      return;
    }
    const existing = this.streams.get(id);
    if (existing !== undefined) {
      if (existing.remoteEnded) {
        this.streamError(existing, ErrorCode.STREAM_CLOSED);
        return;
      }
      if (
        size > limit ||
        (this.role === "server" && trailerFieldProblem(headers, endStream) !== undefined)
      ) {
        this.streamError(existing, ErrorCode.PROTOCOL_ERROR);
        return;
      }
      if (endStream) existing.remoteEnded = true;
      existing.handler?.onHeaders(existing, headers, endStream);
      if (endStream && existing.localEnded) this.closeStream(existing);
      return;
    }
    if (this.role === "client") return; // a stream reset here; its late headers are dropped
    if (id % 2 === 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (id <= this.lastPeerStreamId) {
      // Frames for a stream this side reset may still be on their way; any other id at or below
      // one already used is a new stream out of order (RFC 9113 5.1.1).
      if (!this.wasRecentlyReset(id)) this.fail(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    this.lastPeerStreamId = id;
    // After our GOAWAY, newer streams are not processed; saying so per stream as well lets a
    // client that opened one before the GOAWAY reached it retry at once, elsewhere.
    if (this.goawaySent !== undefined) {
      this.writeReset(id, ErrorCode.REFUSED_STREAM);
      return;
    }
    if (this.streams.size >= this.maxConcurrentStreams) {
      if (this.spendReset()) {
        this.writeReset(id, ErrorCode.REFUSED_STREAM);
        this.answered();
      }
      return;
    }
    // A malformed request (RFC 9113 8.1.1) is a stream error; an oversized one is refused by
    // the owner, which sees the size.
    if (size <= limit && requestFieldProblem(headers) !== undefined) {
      if (this.spendReset()) {
        this.writeReset(id, ErrorCode.PROTOCOL_ERROR);
        this.answered();
      }
      return;
    }
    const stream = new H2Stream(this, id, this.peer.initialWindowSize, this.initialWindowSize);
    stream.openedAt = performance.now();
    this.streams.set(id, stream);
    this.streamsOpened = true;
    if (endStream) stream.remoteEnded = true;
    this.options.onStream?.(stream, headers, endStream, size);
  }

  private onReset(id: number, payload: Buffer): void {
    if (id === 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (payload.length !== 4) {
      this.fail(ErrorCode.FRAME_SIZE_ERROR);
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (this.isIdle(id)) this.fail(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    this.closeStream(stream);
    stream.handler?.onAbort(stream, payload.readUInt32BE(0), "reset");
    // Rapid reset (CVE-2023-44487): a stream reset within a second of opening (Envoy's
    // "premature" reset) costs the peer its budget; a proxy cancelling calls that ran is not
    // punished for its callers.
    if (performance.now() - stream.openedAt < prematureResetMs) this.spendReset();
  }

  private onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if ((flags & FLAG_ACK) !== 0) {
      if (payload.length !== 0) this.fail(ErrorCode.FRAME_SIZE_ERROR);
      this.settingsSentAt = 0;
      return;
    }
    if (payload.length % 6 !== 0) {
      this.fail(ErrorCode.FRAME_SIZE_ERROR);
      return;
    }
    if (payload.length > 6 * this.edge.maxSettingsPerFrame) {
      this.fail(ErrorCode.ENHANCE_YOUR_CALM);
      return;
    }
    const peer = this.peer;
    if (!this.ready) peer.maxConcurrentStreams = defaultSettings.maxConcurrentStreams;
    let windowDelta = 0;
    for (let at = 0; at < payload.length; at += 6) {
      const key = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      switch (key) {
        case SETTINGS_HEADER_TABLE_SIZE:
          peer.headerTableSize = value;
          this.encoder.setMaxTableSize(Math.min(value, 4096));
          break;
        case SETTINGS_MAX_CONCURRENT_STREAMS:
          peer.maxConcurrentStreams = value;
          break;
        case SETTINGS_INITIAL_WINDOW_SIZE:
          if (value > maxWindowSize) {
            this.fail(ErrorCode.FLOW_CONTROL_ERROR);
            return;
          }
          windowDelta += value - peer.initialWindowSize;
          peer.initialWindowSize = value;
          break;
        case SETTINGS_MAX_FRAME_SIZE:
          if (value < defaultMaxFrameSize || value > 16_777_215) {
            this.fail(ErrorCode.PROTOCOL_ERROR);
            return;
          }
          peer.maxFrameSize = value;
          break;
        default:
        // ENABLE_PUSH and unknown settings change nothing here.
      }
    }
    this.out.header(0, SETTINGS, FLAG_ACK, 0);
    this.scheduleFlush();
    this.answered();
    if (this.failed) return;
    if (windowDelta !== 0) {
      for (const stream of this.streams.values()) {
        stream.sendWindow += windowDelta;
        // RFC 9113 6.9.2: a change that takes a window past 2^31-1 is a connection error.
        if (stream.sendWindow > maxWindowSize) {
          this.fail(ErrorCode.FLOW_CONTROL_ERROR);
          return;
        }
      }
      if (windowDelta > 0) this.unblock();
    }
    if (!this.ready) {
      this.ready = true;
      this.options.onReady?.(this);
    }
  }

  private onPing(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (payload.length !== 8) {
      this.fail(ErrorCode.FRAME_SIZE_ERROR);
      return;
    }
    if ((flags & FLAG_ACK) !== 0) {
      this.pingSentAt = 0;
      if (
        this.goawaySent !== undefined &&
        !this.goawayAcked &&
        payload.readUInt32BE(4) === goawayPing
      ) {
        this.goawayAcked = true;
        if (this.streams.size === 0) this.endSoon();
      }
      return;
    }
    this.out.header(8, PING, FLAG_ACK, 0);
    this.out.payload(payload);
    this.scheduleFlush();
    this.peerPinged = true;
    this.answered();
  }

  private onGoaway(id: number, payload: Buffer): void {
    if (id !== 0) {
      this.fail(ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (payload.length < 8) {
      this.fail(ErrorCode.FRAME_SIZE_ERROR);
      return;
    }
    const lastStreamId = payload.readUInt32BE(0) & 0x7fffffff;
    const code = payload.readUInt32BE(4);
    this.goawayReceived = lastStreamId;
    if (code !== ErrorCode.NO_ERROR) this.endCode = code;
    this.options.onGoaway?.(this, lastStreamId, code);
    if (this.role === "client") {
      // Streams the server never processed: safe to try again elsewhere.
      for (const stream of [...this.streams.values()]) {
        if (stream.id <= lastStreamId) continue;
        this.closeStream(stream);
        stream.handler?.onAbort(stream, ErrorCode.REFUSED_STREAM, "refused");
      }
    }
    if (this.streams.size === 0) this.endSoon();
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) {
      this.fail(ErrorCode.FRAME_SIZE_ERROR);
      return;
    }
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) {
        this.fail(ErrorCode.PROTOCOL_ERROR);
        return;
      }
      this.sendWindow += increment;
      if (this.sendWindow > maxWindowSize) {
        this.fail(ErrorCode.FLOW_CONTROL_ERROR);
        return;
      }
      this.unblock();
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    if (increment === 0) {
      this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > maxWindowSize) {
      this.streamError(stream, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    if (stream.queue !== undefined) this.sendQueued(stream);
  }

  /** A stream error (RFC 9113 5.4.2): RST_STREAM, and the owner hears of it. */
  private streamError(stream: H2Stream, code: number): void {
    const open = !stream.closed;
    stream.reset(code);
    if (open) stream.handler?.onAbort(stream, code, "reset");
    this.answered();
    this.spendReset();
  }

  /** An id the peer has not used yet (so no frame but HEADERS may name it). */
  private isIdle(id: number): boolean {
    return this.role === "server" ? id > this.lastPeerStreamId : id >= this.nextStreamId;
  }

  private unblock(): void {
    if (this.blocked.size === 0) return;
    for (const stream of [...this.blocked]) {
      if (this.sendWindow <= 0) return;
      this.sendQueued(stream);
    }
  }

  /** Sends what flow control now allows of a stream's queue, then its end or trailers. */
  private sendQueued(stream: H2Stream): void {
    const queue = stream.queue;
    if (queue === undefined) return;
    while (queue.length > 0) {
      const data = queue[0] as Buffer;
      const last = queue.length === 1;
      const end = last && stream.queuedEnd && stream.queuedTrailers === undefined;
      const sent = this.writeData(stream, data, end);
      if (sent < data.length) {
        queue[0] = data.subarray(sent);
        return;
      }
      queue.shift();
    }
    stream.queue = undefined;
    this.blocked.delete(stream);
    const trailers = stream.queuedTrailers;
    if (trailers !== undefined) {
      stream.queuedTrailers = undefined;
      this.writeHeaders(stream, trailers, true);
    }
    if (this.congested) this.waitForDrain(stream);
    else stream.handler?.onDrain(stream);
  }
}

// Connections with output waiting. Flushed once per turn of the event loop, after every socket
// that had input was read: frames for one socket from many callers leave in one write.
let pendingFlush: H2Connection[] = [];

function flushPending(): void {
  const connections = pendingFlush;
  pendingFlush = [];
  for (const connection of connections) connection.flush();
}
