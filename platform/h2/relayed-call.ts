// One gRPC call relayed frame by frame from a caller's HTTP/2 stream to an upstream's, on our
// own framing: request headers (deadline reduced by the time spent), request data with flow
// control tied end to end, response headers, data and trailers back. The upstream stream is
// reset when the caller goes away or the deadline passes, and another upstream is tried when a
// failure proves (or the subclass says) that retrying is safe.
import { Code, ConnectError } from "@connectrpc/connect";
import { GrpcMessageCounter } from "../forwarding/grpc-message-counter";
import { decodeGrpcMessage } from "../forwarding/grpc-status";
import { formatGrpcTimeout } from "../forwarding/grpc-timeout";
import type { H2ClientPool } from "./client-pool";
import type { H2Connection, H2Stream, H2StreamHandler, StreamAbortReason } from "./connection";
import { ErrorCode, errorCodeName } from "./frames";
import { headerValue, statusTrailerList, trailersOnlyList } from "./header-list";
import type { HeaderList } from "./hpack";

/**
 * Why an attempt failed before any response byte reached the caller:
 * - connect: the upstream could not be reached; nothing was sent.
 * - refused: the upstream refused the stream (REFUSED_STREAM, or GOAWAY before it); nothing ran.
 * - unavailable: the upstream answered UNAVAILABLE without any response message.
 * - reset: the stream broke after the request was sent; the call may have run.
 * - timeout: the deadline passed (ours, or the caller's reset at it) before the upstream sent
 *   any response byte: a hung upstream looks like this. Never retried; counted by the subclass.
 */
export type AttemptFailureKind = "connect" | "refused" | "unavailable" | "reset" | "timeout";

export interface AttemptFailure {
  kind: AttemptFailureKind;
  address: string;
  message: string;
}

/** HTTP status → gRPC code for upstreams that answer without gRPC (the gRPC spec's table). */
export function codeForHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

const dropResponseHeaders = new Set(["connection", "keep-alive", "transfer-encoding", "date"]);
const noAddresses: readonly string[] = [];
const defaultMaxReplayBytes = 1024 * 1024;
/**
 * A caller's reset this close to its deadline (the larger of 20 ms and a tenth of the timeout,
 * at most 250 ms) is its deadline passing: its clock started before ours, so its timer fires
 * first, and the call is counted as DEADLINE_EXCEEDED rather than CANCELLED.
 */
function deadlineSlackMs(timeoutMs: number): number {
  return Math.min(250, Math.max(20, timeoutMs / 10));
}

function responseHeadersFor(headers: HeaderList, out: HeaderList = []): HeaderList {
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (!dropResponseHeaders.has(name)) out.push(name, headers[i + 1] as string);
  }
  return out;
}

/**
 * A relayed call. Subclasses say where it goes (`pick`), whether a failure may be retried
 * (`mayRetry`), and hear about attempts and the end. Use: construct (the call becomes the
 * caller stream's handler), read what the subclass needs from `requestData`, then `forward()`.
 */
export abstract class RelayedCall implements H2StreamHandler {
  code = 0;
  message = "";
  address: string | undefined = undefined;
  attempts = 0;
  durationMs = 0;
  firstMessageMs: number | undefined = undefined;
  /** Absolute deadline on the performance.now() clock; undefined for none. */
  deadlineAt: number | undefined = undefined;
  maxAttempts = 3;
  maxReplayBytes = defaultMaxReplayBytes;
  finished = false;
  /** Whether to note `firstMessageMs` (a clock read); streaming calls want it, unary ones not. */
  timesFirstMessage = true;
  /** Headers of the upstream request, pseudo-headers first; grpc-timeout is added per attempt. */
  upstreamHeaders: HeaderList = [];

  protected forwarding = false;
  protected requestEnded = false;
  private readonly counter = new GrpcMessageCounter();
  private replay: Buffer[] | undefined = undefined;
  private replayBytes = 0;
  private prefix: Buffer[] | undefined = undefined;
  private tried: string[] | undefined = undefined;
  private lastFailure: string | undefined = undefined;
  private up: H2Stream | undefined = undefined;
  private committed = false;
  private deadlineTimer: NodeJS.Timeout | undefined = undefined;
  private responseHeaders: HeaderList | undefined = undefined;
  /** grpc-retry-pushback-ms of the last UNAVAILABLE answer, passed on if it is the caller's. */
  private pushback: string | undefined = undefined;
  /** Request bytes passed upstream but not yet credited back to the caller. */
  private downCredit = 0;
  /** Response bytes passed to the caller but not yet credited back upstream. */
  private upCredit = 0;
  /** Between `forward()` and the first attempt; request bytes held until then. */
  private opening = false;
  private openingBytes = 0;

  constructor(
    readonly down: H2Stream,
    private readonly pool: H2ClientPool,
    readonly startedAt: number,
  ) {
    down.handler = this;
    if (down.remoteEnded) this.requestEnded = true;
  }

  /** Response messages passed back. */
  get messages(): number {
    return this.counter.messages;
  }

  protected abstract pick(tried: readonly string[]): string | ConnectError;
  protected abstract mayRetry(failure: AttemptFailure, attempt: number): boolean;
  /** An attempt on `address` starts; `upstreamHeaders` may still be changed for it. */
  protected onAttemptStart(_address: string): void {}
  protected onAttemptEnd(
    _address: string,
    _code: number,
    _failure: AttemptFailureKind | undefined,
  ): void {}
  protected onFinish(): void {}
  /**
   * How messages to the caller name the upstream at `address`: by service and instance, never
   * by anything only this process knows (a Unix socket path). Default "upstream <address>".
   */
  protected upstreamName(address: string): string {
    return `upstream ${address}`;
  }
  /** Request bytes before `forward()`; the subclass keeps them and hands them to `forward`. */
  protected requestData(_data: Buffer, _end: boolean): void {}

  /** Starts relaying; `read` holds request bytes already taken from the caller (not yet consumed). */
  forward(read?: Buffer[]): void {
    if (this.finished) return;
    this.forwarding = true;
    let readBytes = 0;
    if (read !== undefined && read.length > 0) {
      for (const chunk of read) readBytes += chunk.length;
      if (readBytes <= this.maxReplayBytes) {
        this.replay = read;
        this.replayBytes = readBytes;
      } else {
        this.prefix = read;
      }
    } else {
      this.replay = [];
    }
    const deadlineAt = this.deadlineAt;
    if (deadlineAt !== undefined) {
      const delay = deadlineAt - performance.now();
      if (delay <= 0) {
        this.fail(Code.DeadlineExceeded, "deadline exceeded before the call was forwarded");
        return;
      }
      this.deadlineTimer = setTimeout(onDeadline, delay, this);
      this.down.hasDeadline = true;
    }
    // The first attempt starts once the frames that came with the request's in the same read
    // are handled: a call the caller resets at once (rapid reset) never reaches an upstream.
    this.opening = true;
    this.openingBytes = readBytes;
    process.nextTick(openFirstAttempt, this);
  }

  /** @internal the first attempt, on the tick after `forward()`. */
  openFirst(): void {
    this.opening = false;
    if (this.finished) return;
    this.attempt();
    this.prefix = undefined;
    const held = this.openingBytes;
    this.openingBytes = 0;
    if (held > 0) this.down.consume(held);
  }

  /**
   * Answers the caller with a status of the relay's own and stops everything; `extra` trailers
   * (grpc-retry-pushback-ms, say) go with the status.
   */
  fail(code: number, message: string, extra?: HeaderList): void {
    if (this.finished) return;
    this.cancelUpstream();
    const down = this.down;
    const status = this.committed
      ? statusTrailerList(code, message)
      : trailersOnlyList(code, message);
    if (extra !== undefined) status.push(...extra);
    if (this.committed) down.sendTrailers(status);
    else down.sendHeaders(status, true);
    this.stopUpload();
    this.finish(code, message, performance.now());
  }

  // --- H2StreamHandler, for both the caller's stream and the upstream's ---

  onHeaders(stream: H2Stream, headers: HeaderList, endStream: boolean): void {
    if (stream === this.down) {
      // Request trailers: gRPC has none, but they end the request like END_STREAM on data.
      if (endStream) this.onData(stream, Buffer.alloc(0), true);
      return;
    }
    if (stream !== this.up || this.finished) return;
    if (this.responseHeaders === undefined) {
      this.responseHeaders = headers;
      if (endStream) this.upEnded(undefined);
      return;
    }
    this.upEnded(headers);
  }

  onData(stream: H2Stream, data: Buffer, endStream: boolean): void {
    if (stream === this.down) {
      if (endStream) this.requestEnded = true;
      if (!this.forwarding) {
        this.requestData(data, endStream);
        return;
      }
      this.relayRequest(data, endStream);
      return;
    }
    if (stream !== this.up || this.finished) {
      stream.consume(data.length);
      return;
    }
    if (!this.committed) this.commit(this.responseHeaders ?? [":status", "200"]);
    if (this.timesFirstMessage && this.firstMessageMs === undefined) {
      this.firstMessageMs = performance.now() - this.startedAt;
    }
    this.counter.push(data);
    if (this.down.sendData(data, false)) stream.consume(data.length);
    else this.upCredit += data.length;
    if (endStream) this.upEnded(undefined);
  }

  onAbort(stream: H2Stream, code: number, reason: StreamAbortReason): void {
    if (stream === this.down) {
      this.callerGone();
      return;
    }
    if (stream === this.up) this.upAborted(stream, code, reason);
  }

  onDrain(stream: H2Stream): void {
    if (stream === this.up) {
      const credit = this.downCredit;
      this.downCredit = 0;
      if (credit > 0) this.down.consume(credit);
    } else if (stream === this.down) {
      const credit = this.upCredit;
      this.upCredit = 0;
      if (credit > 0) this.up?.consume(credit);
    }
  }

  // --- request side ---

  private relayRequest(data: Buffer, endStream: boolean): void {
    const n = data.length;
    if (this.finished) {
      this.down.consume(n);
      return;
    }
    const replay = this.replay;
    if (replay !== undefined) {
      this.replayBytes += n;
      if (this.replayBytes > this.maxReplayBytes) this.replay = undefined;
      else replay.push(data);
    }
    if (this.opening && this.replay === undefined) {
      // Too much to replay and no upstream yet: it all leaves with the first attempt.
      if (replay !== undefined) this.prefix = replay; // just overflowed: what was kept goes first
      if (this.prefix === undefined) this.prefix = [data];
      else this.prefix.push(data);
      this.openingBytes += n;
      return;
    }
    const up = this.up;
    if (up === undefined || up.sendData(data, endStream)) this.down.consume(n);
    else this.downCredit += n;
  }

  /** The caller's stream ended abnormally: it gave up (RST_STREAM) or its connection went. */
  private callerGone(): void {
    if (this.finished) return;
    const at = performance.now();
    const deadlineAt = this.deadlineAt;
    const expired =
      deadlineAt !== undefined && at >= deadlineAt - deadlineSlackMs(deadlineAt - this.startedAt);
    const code = expired ? Code.DeadlineExceeded : Code.Canceled;
    this.cancelUpstream();
    if (this.up !== undefined) this.endAttempt(code, expired ? this.silentUpstream() : undefined);
    this.finish(code, expired ? "caller's deadline passed" : "caller cancelled", at);
  }

  /** "timeout" when the upstream has sent nothing for this call yet, else undefined. */
  private silentUpstream(): AttemptFailureKind | undefined {
    return this.responseHeaders === undefined && !this.committed ? "timeout" : undefined;
  }

  // --- attempts ---

  private attempt(): void {
    const picked = this.pick(this.tried ?? noAddresses);
    if (picked instanceof ConnectError) {
      // On a retry, what went wrong with the last upstream matters more than the lack of another.
      const last = this.lastFailure;
      this.fail(
        picked.code,
        last === undefined ? picked.rawMessage : `${last}; ${picked.rawMessage}`,
      );
      return;
    }
    const address = picked;
    this.attempts++;
    this.address = address;
    this.responseHeaders = undefined;
    const chunks = this.replay ?? (this.attempts === 1 ? this.prefix : undefined);
    const hasBody = chunks !== undefined && chunks.length > 0;
    let connection: H2Connection;
    try {
      connection = this.pool.connection(address);
    } catch (err) {
      // An address no socket can be opened to (a bad registry entry): as unreachable.
      this.onAttemptStart(address);
      this.attemptFailed(
        "connect",
        Code.Unavailable,
        `cannot connect to ${this.upstreamName(address)}: ${err instanceof Error ? err.message : String(err)}`,
      );
      return;
    }
    // Before the headers are read: the subclass may set per-attempt ones (traceparent).
    this.onAttemptStart(address);
    let headers = this.upstreamHeaders;
    if (this.deadlineAt !== undefined) {
      const left = this.deadlineAt - performance.now();
      headers = [...headers, "grpc-timeout", formatGrpcTimeout(left)];
    }
    const up = connection.openStream(this, headers, this.requestEnded && !hasBody);
    this.up = up;
    if (hasBody) {
      const last = chunks.length - 1;
      for (let i = 0; i < last; i++) up.sendData(chunks[i] as Buffer, false);
      up.sendData(chunks[last] as Buffer, this.requestEnded);
    }
  }

  private endAttempt(code: number, failure: AttemptFailureKind | undefined): void {
    const address = this.address;
    if (address === undefined) return;
    this.onAttemptEnd(address, code, failure);
  }

  /** An attempt failed before the response started: retry elsewhere when allowed, else answer. */
  private attemptFailed(kind: AttemptFailureKind, code: Code, message: string): void {
    const at = performance.now();
    this.endAttempt(code, kind);
    const address = this.address ?? "";
    this.up = undefined;
    if (this.downCredit > 0) {
      this.down.consume(this.downCredit);
      this.downCredit = 0;
    }
    const remaining =
      this.deadlineAt === undefined ? Number.POSITIVE_INFINITY : this.deadlineAt - at;
    if (
      this.replay !== undefined &&
      this.attempts < this.maxAttempts &&
      remaining > 0 &&
      !this.down.closed &&
      this.mayRetry({ kind, address, message }, this.attempts)
    ) {
      if (this.tried === undefined) this.tried = [address];
      else this.tried.push(address);
      this.lastFailure = message;
      this.attempt();
      return;
    }
    const pushback = kind === "unavailable" ? this.pushback : undefined;
    this.fail(code, message, pushback ? ["grpc-retry-pushback-ms", pushback] : undefined);
  }

  private cancelUpstream(): void {
    const up = this.up;
    if (up !== undefined && !up.closed) up.reset(ErrorCode.CANCEL);
  }

  // --- response side ---

  private commit(headers: HeaderList): void {
    this.committed = true;
    this.replay = undefined;
    this.down.sendHeaders(responseHeadersFor(headers), false);
  }

  /** The upstream's response is complete: `trailers`, or none when it ended without any. */
  private upEnded(trailers: HeaderList | undefined): void {
    if (this.finished) return;
    const address = this.address ?? "";
    const responseHeaders = this.responseHeaders ?? [];
    const status = Number(headerValue(responseHeaders, ":status") ?? 0);
    const rawCode =
      (trailers && headerValue(trailers, "grpc-status")) ??
      headerValue(responseHeaders, "grpc-status");
    const rawMessage =
      (trailers && headerValue(trailers, "grpc-message")) ??
      headerValue(responseHeaders, "grpc-message") ??
      "";
    const parsed = rawCode === undefined ? Number.NaN : Number(rawCode);
    let code: number;
    let message: string;
    if (status !== 200) {
      code = codeForHttpStatus(status);
      message = `${this.upstreamName(address)} answered HTTP ${status}`;
    } else if (!Number.isInteger(parsed)) {
      code = Code.Internal;
      message = `${this.upstreamName(address)} ended the call without a gRPC status`;
    } else {
      code = parsed;
      message = decodeGrpcMessage(rawMessage);
    }
    const at = performance.now();
    if (this.committed) {
      this.endAttempt(code, undefined);
      const out: HeaderList = trailers === undefined ? [] : responseHeadersFor(trailers);
      if (rawCode === undefined || status !== 200) out.push(...statusTrailerList(code, message));
      this.up = undefined;
      this.down.sendTrailers(out);
      this.stopUpload();
      this.finish(code, message, at);
      return;
    }
    if (code === Code.Unavailable && status === 200) {
      // An overloaded upstream's retry advice (gRFC A6) reaches the caller if this is the answer.
      this.pushback =
        (trailers && headerValue(trailers, "grpc-retry-pushback-ms")) ??
        headerValue(responseHeaders, "grpc-retry-pushback-ms");
      this.attemptFailed("unavailable", code, message);
      return;
    }
    this.endAttempt(code, undefined);
    this.up = undefined;
    if (status === 200 && rawCode !== undefined) {
      // The upstream's status as one Trailers-Only response, metadata included.
      const out = trailers === undefined ? responseHeadersFor(responseHeaders) : [];
      if (trailers !== undefined) {
        // One HEADERS frame: where headers and trailers both name a field, the trailer's wins.
        const inTrailers = new Set(trailers.filter((_, i) => i % 2 === 0));
        const kept = responseHeaders.filter(
          (_, i, all) => !inTrailers.has(all[i - (i % 2)] as string),
        );
        responseHeadersFor(kept, out);
        responseHeadersFor(trailers, out);
      }
      this.down.sendHeaders(out, true);
      this.stopUpload();
      this.finish(code, message, at);
      return;
    }
    this.fail(code, message);
  }

  private upAborted(up: H2Stream, code: number, reason: StreamAbortReason): void {
    if (this.finished) return;
    const address = this.address ?? "";
    const connection = up.connection;
    if (reason === "connection" && !connection.connected) {
      this.attemptFailed(
        "connect",
        Code.Unavailable,
        `${this.upstreamName(address)} is unreachable`,
      );
    } else if (reason === "connection" && !connection.ready) {
      // Nothing ran: the peer never took part in HTTP/2, so this is retried like a connect failure.
      this.attemptFailed(
        "connect",
        Code.Unavailable,
        `${this.upstreamName(address)} closed the connection without speaking HTTP/2 (does it expect TLS, or something other than gRPC?)`,
      );
    } else if (reason === "refused" || code === ErrorCode.REFUSED_STREAM) {
      this.attemptFailed(
        "refused",
        Code.Unavailable,
        `${this.upstreamName(address)} refused the call`,
      );
    } else if (this.committed) {
      const at = performance.now();
      this.endAttempt(Code.Unavailable, "reset");
      this.up = undefined;
      this.down.sendTrailers(
        statusTrailerList(
          Code.Unavailable,
          `${this.upstreamName(address)} reset the call (${errorCodeName(code)})`,
        ),
      );
      this.stopUpload();
      this.finish(Code.Unavailable, "upstream reset the call", at);
    } else {
      this.attemptFailed(
        "reset",
        Code.Unavailable,
        reason === "connection"
          ? `${this.upstreamName(address)} dropped the connection before answering`
          : `${this.upstreamName(address)} reset the call before answering (RST_STREAM ${errorCodeName(code)})`,
      );
    }
  }

  /** Once the response is complete, resets a request still being uploaded (NO_ERROR). */
  private stopUpload(): void {
    const down = this.down;
    if (!down.remoteEnded && !down.closed && down.queue === undefined) {
      down.reset(ErrorCode.NO_ERROR);
    }
  }

  /** @internal the deadline timer's target. */
  deadlinePassed(): void {
    if (this.finished) return;
    if (this.up !== undefined) this.endAttempt(Code.DeadlineExceeded, this.silentUpstream());
    this.fail(Code.DeadlineExceeded, "deadline exceeded");
  }

  private finish(code: number, message: string, at: number): void {
    if (this.finished) return;
    this.finished = true;
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.replay = undefined;
    this.prefix = undefined;
    if (this.upCredit > 0) {
      this.up?.consume(this.upCredit);
      this.upCredit = 0;
    }
    this.code = code;
    this.message = message;
    this.durationMs = at - this.startedAt;
    this.onFinish();
  }
}

function openFirstAttempt(call: RelayedCall): void {
  call.openFirst();
}

function onDeadline(call: RelayedCall): void {
  call.deadlinePassed();
}
