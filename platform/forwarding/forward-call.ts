// Passes one gRPC call through to an upstream over a pooled HTTP/2 session, bytes unchanged:
// request headers (deadline reduced by the time spent), body with backpressure, response
// headers, data and trailers back. Cancels the upstream stream when the caller goes away or
// its deadline passes, and tries another upstream when a failure proves (or the caller says)
// that retrying is safe.
//
// This runs once per forwarded call, so it is written to allocate little: one object holds a
// call's state, and the stream listeners are module-level functions that find that object
// through a symbol on the stream, instead of a dozen closures per call.
import type {
  ClientHttp2Stream,
  Http2ServerResponse,
  IncomingHttpHeaders,
  IncomingHttpStatusHeader,
  OutgoingHttpHeaders,
  ServerHttp2Stream,
} from "node:http2";
import { constants } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { GrpcMessageCounter } from "./grpc-message-counter";
import { decodeGrpcMessage, endWithStatus, statusTrailers, stopUpload } from "./grpc-status";
import { formatGrpcTimeout } from "./grpc-timeout";
import type { UpstreamPool, UpstreamStream } from "./upstream-pool";

/**
 * Why an attempt failed before any response byte reached the caller:
 * - connect: the upstream could not be reached; nothing was sent.
 * - refused: the upstream refused the stream (REFUSED_STREAM, or GOAWAY before it); nothing ran.
 * - unavailable: the upstream answered UNAVAILABLE without any response message.
 * - reset: the stream broke after the request was sent; the call may have run.
 */
export type AttemptFailureKind = "connect" | "refused" | "unavailable" | "reset";

export interface AttemptFailure {
  kind: AttemptFailureKind;
  address: string;
  message: string;
}

export interface AttemptOutcome {
  address: string;
  /** gRPC status of the attempt (Code, 0 for OK). */
  code: number;
  /** Set when the attempt failed at the transport level or with UNAVAILABLE before a response. */
  failure?: AttemptFailureKind;
  durationMs: number;
}

export interface ForwardResult {
  /** Final gRPC status seen by the caller (0 for OK). */
  readonly code: number;
  readonly message: string;
  /** Upstream that answered (or last tried); undefined when none was picked. */
  readonly address: string | undefined;
  readonly attempts: number;
  readonly durationMs: number;
  /** Time from the start of the call to the first response message, if any arrived. */
  readonly firstMessageMs: number | undefined;
  /** Response messages passed back. */
  readonly messages: number;
}

export interface ForwardOptions {
  res: Http2ServerResponse;
  /** The caller's request headers. */
  headers: IncomingHttpHeaders;
  /** Request bytes already read from the caller, forwarded before the rest. Default none. */
  prefix?: Buffer[];
  pool: UpstreamPool;
  /** performance.now() when the call arrived. */
  startedAt: number;
  /** Absolute deadline on the performance.now() clock; undefined for none. */
  deadlineAt: number | undefined;
  /** Headers added to (or replacing those in) the upstream request. */
  extraHeaders?: OutgoingHttpHeaders;
  /**
   * The upstream (host:port) for the next attempt, given those already tried, or a ConnectError
   * to answer with when there is none.
   */
  pick(tried: readonly string[]): string | ConnectError;
  /** Whether to try again after a failure; called only when a retry is possible at all. */
  mayRetry(failure: AttemptFailure, attempt: number): boolean;
  /** Attempts at most. Default 3. */
  maxAttempts?: number;
  /** Request bytes kept for replay on another upstream; past this the call is not retried. Default 1 MiB. */
  maxReplayBytes?: number;
  onAttemptStart?(address: string): void;
  onAttemptEnd?(outcome: AttemptOutcome): void;
  onFinish?(result: ForwardResult): void;
}

const dropRequestHeaders = new Set([
  ":scheme",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
  "grpc-timeout",
]);
const dropResponseHeaders = new Set(["connection", "keep-alive", "transfer-encoding", "date"]);
const noAddresses: readonly string[] = [];
const defaultMaxReplayBytes = 1024 * 1024;

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

function headerString(value: string | string[] | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value[0];
  return String(value);
}

/** The caller's headers minus those that describe one connection, for the upstream request. */
export function upstreamRequestHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (!dropRequestHeaders.has(name)) out[name] = headers[name];
  }
  return out;
}

const callOf = Symbol("forwarded call");
type Tagged<S> = S & { [callOf]?: ForwardedCall | undefined };

/**
 * One forwarded call. Subclasses say where it goes (`pick`), whether a failure may be retried
 * (`mayRetry`), and hear about attempts and the end; the call itself is the ForwardResult.
 * Use: construct, `listen()` on the caller's stream, then `forward()` once the request may go.
 */
export abstract class ForwardedCall implements ForwardResult {
  code = 0;
  message = "";
  address: string | undefined = undefined;
  attempts = 0;
  durationMs = 0;
  firstMessageMs: number | undefined = undefined;
  /** Headers of the upstream request; subclasses may add to them before `forward()`. */
  readonly upstreamHeaders: OutgoingHttpHeaders;
  /** Absolute deadline on the performance.now() clock; undefined for none. */
  deadlineAt: number | undefined = undefined;
  maxAttempts = 3;
  maxReplayBytes = defaultMaxReplayBytes;
  /** Set once the call has ended, one way or another. */
  finished = false;
  /** Whether to note `firstMessageMs` (a clock read); streaming calls want it, unary ones not. */
  timesFirstMessage = true;

  private readonly counter = new GrpcMessageCounter();
  /** Request bytes sent so far, kept while a retry could still replay them. */
  private replay: Buffer[] | undefined = undefined;
  private replayBytes = 0;
  /** Request bytes read before forwarding, when they could not all be kept for replay. */
  private prefix: Buffer[] | undefined = undefined;
  private requestEnded = false;
  /** Addresses of earlier attempts; undefined until a retry. */
  private tried: string[] | undefined = undefined;
  /** Why the previous attempt failed, while a retry looks for another upstream. */
  private lastFailure: string | undefined = undefined;
  private current: UpstreamStream | undefined = undefined;
  private up: Tagged<ClientHttp2Stream> | undefined = undefined;
  private attemptStartedAt: number;
  private committed = false;
  private deadlineTimer: NodeJS.Timeout | undefined = undefined;
  // The current attempt's response.
  private responseHeaders: (IncomingHttpHeaders & IncomingHttpStatusHeader) | undefined = undefined;
  private trailers: IncomingHttpHeaders | undefined = undefined;
  /** Trailers for the caller, sent when its stream asks for them (bare streams only). */
  private downTrailers: OutgoingHttpHeaders | undefined = undefined;

  /**
   * @param down the caller's stream.
   * @param headers the caller's request headers.
   * @param startedAt performance.now() when the call arrived.
   * @param compat the compatibility response over `down`, when one exists: trailers then go
   *   through it, since it answers the stream's request for them.
   */
  constructor(
    readonly down: Tagged<ServerHttp2Stream>,
    headers: IncomingHttpHeaders,
    private readonly pool: UpstreamPool,
    readonly startedAt: number,
    private readonly compat?: Http2ServerResponse,
  ) {
    this.upstreamHeaders = upstreamRequestHeaders(headers);
    this.attemptStartedAt = startedAt;
  }

  /** Response messages passed back. */
  get messages(): number {
    return this.counter.messages;
  }

  /** The upstream for the next attempt, given those already tried, or the error to answer with. */
  protected abstract pick(tried: readonly string[]): string | ConnectError;
  /** Whether to try again after a failure; asked only when a retry is possible at all. */
  protected abstract mayRetry(failure: AttemptFailure, attempt: number): boolean;
  protected onAttemptStart(_address: string): void {}
  protected onAttemptEnd(
    _address: string,
    _code: number,
    _failure: AttemptFailureKind | undefined,
    _durationMs: number,
  ): void {}
  /** Called once when the call is over; the call's fields hold the result. */
  protected onFinish(): void {}

  /**
   * Follows the caller's stream: its data goes to `receive`, its end and its going away here.
   * (Listeners for events that come once use `on`: `once` costs a wrapper per call.)
   */
  listen(): void {
    const down = this.down;
    down[callOf] = this;
    down.on("data", ForwardedCall.onDownData);
    if (down.readableEnded) this.requestEnded = true;
    else down.on("end", ForwardedCall.onDownEnd);
    down.on("close", ForwardedCall.onDownClose);
  }

  /**
   * Starts forwarding. `read` holds request bytes already taken from the caller's stream; the
   * call keeps the array.
   */
  forward(read?: Buffer[]): void {
    if (this.finished) return;
    if (read !== undefined && read.length > 0) {
      let bytes = 0;
      for (const chunk of read) bytes += chunk.length;
      if (bytes <= this.maxReplayBytes) {
        this.replay = read;
        this.replayBytes = bytes;
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
      this.deadlineTimer = setTimeout(ForwardedCall.onDeadline, delay, this);
    }
    this.attempt();
    if (!this.finished) this.down.resume();
  }

  /** Answers the caller with a status of the proxy's own and stops everything. */
  fail(code: number, message: string): void {
    this.cancelUpstream();
    if (this.compat) endWithStatus(this.compat, code, message);
    else if (this.committed) this.endDown(statusTrailers(code, message));
    else endWithStatus(this.down, code, message);
    this.finish(code, message, performance.now());
  }

  /** Request bytes from the caller. */
  protected receive(chunk: Buffer): void {
    if (this.finished) return;
    const replay = this.replay;
    if (replay !== undefined) {
      this.replayBytes += chunk.length;
      if (this.replayBytes > this.maxReplayBytes) this.replay = undefined;
      else replay.push(chunk);
    }
    const up = this.up;
    if (up !== undefined && !up.writableEnded && !up.write(chunk)) {
      this.down.pause();
      up.once("drain", ForwardedCall.resumeDown);
    }
  }

  /** The caller finished sending. */
  protected requestEnd(): void {
    this.requestEnded = true;
    const up = this.up;
    if (up !== undefined && !up.writableEnded) up.end();
  }

  /** The caller's stream closed; before the call finished, that means the caller gave up. */
  protected callerGone(): void {
    if (this.finished) return;
    const at = performance.now();
    this.cancelUpstream();
    if (this.current !== undefined) this.endAttempt(Code.Canceled, undefined, at);
    this.finish(Code.Canceled, "caller cancelled", at);
  }

  private finish(code: number, message: string, at: number): void {
    if (this.finished) return;
    this.finished = true;
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.replay = undefined;
    this.prefix = undefined;
    this.code = code;
    this.message = message;
    this.durationMs = at - this.startedAt;
    this.onFinish();
  }

  private cancelUpstream(): void {
    const up = this.up;
    if (up !== undefined && !up.closed && !up.destroyed) up.close(constants.NGHTTP2_CANCEL);
  }

  private endAttempt(code: number, failure: AttemptFailureKind | undefined, at: number): void {
    const address = this.address;
    if (address === undefined) return;
    this.onAttemptEnd(address, code, failure, at - this.attemptStartedAt);
  }

  /** Leaves the current upstream stream: events it still emits are ignored. */
  private detach(): void {
    const up = this.up;
    if (up !== undefined) up[callOf] = undefined;
    this.up = undefined;
    this.current = undefined;
  }

  /** An attempt failed before the response started: retry elsewhere when allowed, else answer. */
  private attemptFailed(kind: AttemptFailureKind, code: Code, message: string): void {
    const at = performance.now();
    this.endAttempt(code, kind, at);
    const address = this.address ?? "";
    this.detach();
    const remaining =
      this.deadlineAt === undefined ? Number.POSITIVE_INFINITY : this.deadlineAt - at;
    if (
      this.replay !== undefined &&
      this.attempts < this.maxAttempts &&
      remaining > 0 &&
      !this.down.destroyed &&
      this.mayRetry({ kind, address, message }, this.attempts)
    ) {
      if (this.tried === undefined) this.tried = [address];
      else this.tried.push(address);
      this.lastFailure = message;
      this.attempt();
      return;
    }
    this.fail(code, message);
  }

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
    const headers = this.upstreamHeaders;
    if (this.attempts > 1 || this.deadlineAt !== undefined) {
      const now = performance.now();
      if (this.attempts > 1) this.attemptStartedAt = now;
      if (this.deadlineAt !== undefined) {
        headers["grpc-timeout"] = formatGrpcTimeout(this.deadlineAt - now);
      }
    }
    let attempt: UpstreamStream;
    try {
      attempt = this.pool.open(address, headers);
    } catch (err) {
      this.attemptFailed(
        "connect",
        Code.Unavailable,
        `cannot open a stream to ${address}: ${String(err)}`,
      );
      return;
    }
    this.current = attempt;
    const up: Tagged<ClientHttp2Stream> = attempt.stream;
    this.up = up;
    this.responseHeaders = undefined;
    this.trailers = undefined;
    up[callOf] = this;
    this.onAttemptStart(address);
    up.on("response", ForwardedCall.onUpResponse);
    up.on("trailers", ForwardedCall.onUpTrailers);
    up.on("data", ForwardedCall.onUpData);
    up.on("end", ForwardedCall.onUpEnd);
    up.on("error", ignoreError);
    up.on("close", ForwardedCall.onUpClose);

    const chunks = this.replay ?? (this.attempts === 1 ? this.prefix : undefined);
    if (chunks !== undefined && chunks.length > 0) {
      const last = chunks.length - 1;
      for (let i = 0; i < last; i++) up.write(chunks[i]);
      if (this.requestEnded) up.end(chunks[last]);
      else up.write(chunks[last]);
    } else if (this.requestEnded) {
      up.end();
    }
  }

  private commit(headers: OutgoingHttpHeaders): void {
    this.committed = true;
    this.replay = undefined;
    const out: OutgoingHttpHeaders = {};
    for (const name in headers) {
      if (!dropResponseHeaders.has(name)) out[name] = headers[name];
    }
    this.down.respond(out, { waitForTrailers: true });
    if (this.compat === undefined) this.down.on("wantTrailers", ForwardedCall.sendDownTrailers);
  }

  /** Ends a response already started, with these trailers. */
  private endDown(trailers: OutgoingHttpHeaders): void {
    const down = this.down;
    if (down.destroyed || down.closed || down.writableEnded) return;
    if (this.compat) this.compat.addTrailers(trailers as Record<string, string>);
    else this.downTrailers = trailers;
    down.end();
    stopUpload(down);
  }

  private upData(chunk: Buffer): void {
    if (this.finished) return;
    if (!this.committed) this.commit(this.responseHeaders ?? { ":status": 200 });
    if (this.timesFirstMessage && this.firstMessageMs === undefined) {
      this.firstMessageMs = performance.now() - this.startedAt;
    }
    this.counter.push(chunk);
    if (!this.down.write(chunk)) {
      this.up?.pause();
      this.down.once("drain", ForwardedCall.resumeUp);
    }
  }

  private upEnd(): void {
    if (this.finished) return;
    // No response headers: the stream was reset or the connection dropped before any answer
    // (node ends the readable side first); 'close' follows and tells which.
    if (this.responseHeaders === undefined) return;
    const up = this.up;
    const address = this.address ?? "";
    const responseHeaders = this.responseHeaders;
    const trailers = this.trailers;
    const status = Number(responseHeaders[":status"] ?? 0);
    const rawCode = headerString(trailers?.["grpc-status"] ?? responseHeaders["grpc-status"]);
    const rawMessage =
      headerString(trailers?.["grpc-message"] ?? responseHeaders["grpc-message"]) ?? "";
    let code = rawCode === undefined ? undefined : Number(rawCode);
    let message = decodeGrpcMessage(rawMessage);
    if (status !== 200) {
      code = codeForHttpStatus(status);
      message = `upstream ${address} answered HTTP ${status}`;
    } else if (code === undefined || !Number.isInteger(code)) {
      code = Code.Internal;
      message = `upstream ${address} ended the call without a gRPC status`;
    }
    if (this.committed) {
      if (up !== undefined) up[callOf] = undefined;
      const at = performance.now();
      this.endAttempt(code, undefined, at);
      const out: OutgoingHttpHeaders = {};
      if (trailers) {
        for (const name in trailers) {
          const value = trailers[name];
          if (value !== undefined) out[name] = value;
        }
      }
      if (rawCode === undefined || status !== 200) {
        out["grpc-status"] = String(code);
        out["grpc-message"] = message;
      }
      this.endDown(out);
      this.finish(code, message, at);
      return;
    }
    if (code === Code.Unavailable && status === 200) {
      this.attemptFailed("unavailable", code, message);
      return;
    }
    if (up !== undefined) up[callOf] = undefined;
    const at = performance.now();
    this.endAttempt(code, undefined, at);
    if (status === 200 && rawCode !== undefined) {
      // Pass the upstream's status on as one Trailers-Only response, metadata included.
      const out: OutgoingHttpHeaders = {};
      for (const name in responseHeaders) {
        if (!dropResponseHeaders.has(name)) out[name] = responseHeaders[name];
      }
      if (trailers) Object.assign(out, trailers);
      const down = this.down;
      if (!down.destroyed && !down.headersSent) {
        down.respond(out, { endStream: true });
        stopUpload(down);
      }
      this.finish(code, message, at);
      return;
    }
    this.fail(code, message);
  }

  private upClose(up: ClientHttp2Stream): void {
    if (this.finished) return;
    const attempt = this.current;
    const address = this.address ?? "";
    const lastId = attempt?.goawayLastStreamId();
    if (attempt !== undefined && !attempt.connected()) {
      this.attemptFailed("connect", Code.Unavailable, `upstream ${address} is unreachable`);
    } else if (attempt !== undefined && !attempt.spokeHttp2()) {
      // Nothing ran: the peer never took part in HTTP/2, so this is retried like a connect failure.
      this.attemptFailed(
        "connect",
        Code.Unavailable,
        `upstream ${address} closed the connection without speaking HTTP/2 (does it expect TLS, or something other than gRPC?)`,
      );
    } else if (
      up.rstCode === constants.NGHTTP2_REFUSED_STREAM ||
      (lastId !== undefined && (up.id === undefined || up.id > lastId))
    ) {
      this.attemptFailed("refused", Code.Unavailable, `upstream ${address} refused the call`);
    } else if (this.committed) {
      const at = performance.now();
      this.endAttempt(Code.Unavailable, "reset", at);
      this.detach();
      this.endDown(
        statusTrailers(
          Code.Unavailable,
          `upstream ${address} reset the call (code ${String(up.rstCode)})`,
        ),
      );
      this.finish(Code.Unavailable, "upstream reset the call", at);
    } else {
      this.attemptFailed(
        "reset",
        Code.Unavailable,
        attempt?.connectionLost()
          ? `upstream ${address} dropped the connection before answering`
          : `upstream ${address} reset the call before answering (RST_STREAM ${rstCodeName(up.rstCode)})`,
      );
    }
  }

  private deadlinePassed(): void {
    if (this.finished) return;
    if (this.current !== undefined) {
      this.endAttempt(Code.DeadlineExceeded, undefined, performance.now());
    }
    this.fail(Code.DeadlineExceeded, "deadline exceeded");
  }

  // Stream listeners, shared by every call. Node calls a listener with the emitting stream as
  // `this`; the call is found on the stream. Static members of the class, so they may reach its
  // private state.
  // biome-ignore-start lint/complexity/noThisInStatic: `this` is the stream, typed as such

  private static onDownData(this: Tagged<ServerHttp2Stream>, chunk: Buffer): void {
    this[callOf]?.receive(chunk);
  }
  private static onDownEnd(this: Tagged<ServerHttp2Stream>): void {
    this[callOf]?.requestEnd();
  }
  private static onDownClose(this: Tagged<ServerHttp2Stream>): void {
    const call = this[callOf];
    this[callOf] = undefined;
    call?.callerGone();
  }
  private static sendDownTrailers(this: Tagged<ServerHttp2Stream>): void {
    const trailers = this[callOf]?.downTrailers;
    if (!this.closed && !this.destroyed) this.sendTrailers(trailers ?? {});
  }
  private static resumeUp(this: Tagged<ServerHttp2Stream>): void {
    this[callOf]?.up?.resume();
  }
  private static resumeDown(this: Tagged<ClientHttp2Stream>): void {
    this[callOf]?.down.resume();
  }
  private static onUpResponse(
    this: Tagged<ClientHttp2Stream>,
    headers: IncomingHttpHeaders & IncomingHttpStatusHeader,
  ): void {
    const call = this[callOf];
    if (call !== undefined) call.responseHeaders = headers;
  }
  private static onUpTrailers(this: Tagged<ClientHttp2Stream>, headers: IncomingHttpHeaders): void {
    const call = this[callOf];
    if (call !== undefined) call.trailers = headers;
  }
  private static onUpData(this: Tagged<ClientHttp2Stream>, chunk: Buffer): void {
    this[callOf]?.upData(chunk);
  }
  private static onUpEnd(this: Tagged<ClientHttp2Stream>): void {
    this[callOf]?.upEnd();
  }
  private static onUpClose(this: Tagged<ClientHttp2Stream>): void {
    const call = this[callOf];
    this[callOf] = undefined;
    call?.upClose(this);
  }
  // biome-ignore-end lint/complexity/noThisInStatic: see above
  private static onDeadline(call: ForwardedCall): void {
    call.deadlinePassed();
  }
}

const rstCodeNames: Record<number, string> = {
  [constants.NGHTTP2_NO_ERROR]: "NO_ERROR",
  [constants.NGHTTP2_PROTOCOL_ERROR]: "PROTOCOL_ERROR",
  [constants.NGHTTP2_INTERNAL_ERROR]: "INTERNAL_ERROR",
  [constants.NGHTTP2_FLOW_CONTROL_ERROR]: "FLOW_CONTROL_ERROR",
  [constants.NGHTTP2_STREAM_CLOSED]: "STREAM_CLOSED",
  [constants.NGHTTP2_FRAME_SIZE_ERROR]: "FRAME_SIZE_ERROR",
  [constants.NGHTTP2_CANCEL]: "CANCEL",
  [constants.NGHTTP2_ENHANCE_YOUR_CALM]: "ENHANCE_YOUR_CALM",
  [constants.NGHTTP2_INADEQUATE_SECURITY]: "INADEQUATE_SECURITY",
};

/** An HTTP/2 error code as the spec names it, for messages. */
function rstCodeName(code: number | undefined): string {
  if (code === undefined) return "without a code";
  return rstCodeNames[code] ?? `code ${code}`;
}

function ignoreError(): void {
  // The 'close' listener classifies the failure; errors need a listener to stay quiet.
}

/** A ForwardedCall configured by a ForwardOptions object. */
class OptionsCall extends ForwardedCall {
  constructor(private readonly options: ForwardOptions) {
    super(options.res.stream, options.headers, options.pool, options.startedAt, options.res);
    if (options.extraHeaders) Object.assign(this.upstreamHeaders, options.extraHeaders);
    this.deadlineAt = options.deadlineAt;
    if (options.maxAttempts !== undefined) this.maxAttempts = options.maxAttempts;
    if (options.maxReplayBytes !== undefined) this.maxReplayBytes = options.maxReplayBytes;
  }
  protected override pick(tried: readonly string[]): string | ConnectError {
    return this.options.pick(tried);
  }
  protected override mayRetry(failure: AttemptFailure, attempt: number): boolean {
    return this.options.mayRetry(failure, attempt);
  }
  protected override onAttemptStart(address: string): void {
    this.options.onAttemptStart?.(address);
  }
  protected override onAttemptEnd(
    address: string,
    code: number,
    failure: AttemptFailureKind | undefined,
    durationMs: number,
  ): void {
    this.options.onAttemptEnd?.({ address, code, ...(failure ? { failure } : {}), durationMs });
  }
  protected override onFinish(): void {
    this.options.onFinish?.(this);
  }
}

/** Forwards a call described by an options object (see ForwardedCall for the class form). */
export function forwardCall(options: ForwardOptions): void {
  const call = new OptionsCall(options);
  call.listen();
  call.forward(options.prefix ? [...options.prefix] : undefined);
}
