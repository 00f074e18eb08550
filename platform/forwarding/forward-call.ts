// Passes one gRPC call through to an upstream over a pooled HTTP/2 session, bytes unchanged:
// request headers (deadline reduced by the time spent), body with backpressure, response
// headers, data and trailers back. Cancels the upstream stream when the caller goes away or
// its deadline passes, and tries another upstream when a failure proves (or the caller says)
// that retrying is safe.
import type {
  ClientHttp2Stream,
  Http2ServerResponse,
  IncomingHttpHeaders,
  IncomingHttpStatusHeader,
  OutgoingHttpHeaders,
} from "node:http2";
import { constants } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { GrpcMessageCounter } from "./grpc-message-counter";
import { decodeGrpcMessage, endWithStatus } from "./grpc-status";
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
  code: number;
  message: string;
  /** Upstream that answered (or last tried); undefined when none was picked. */
  address: string | undefined;
  attempts: number;
  durationMs: number;
  /** Time from the start of the call to the first response message, if any arrived. */
  firstMessageMs: number | undefined;
  /** Response messages passed back. */
  messages: number;
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

/** HTTP status → gRPC code for upstreams that answer without gRPC (the gRPC spec's table). */
function codeForHttpStatus(status: number): Code {
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

export function forwardCall(options: ForwardOptions): void {
  const { res, pool, startedAt, deadlineAt } = options;
  const down = res.stream;
  const maxAttempts = options.maxAttempts ?? 3;
  const maxReplayBytes = options.maxReplayBytes ?? 1024 * 1024;

  // Request bytes sent so far, kept while a retry could still replay them.
  let replay: Buffer[] | undefined = options.prefix ? [...options.prefix] : [];
  let replayBytes = 0;
  for (const chunk of replay) replayBytes += chunk.length;
  if (replayBytes > maxReplayBytes) replay = undefined;
  let requestEnded = false;

  const tried: string[] = [];
  let attempts = 0;
  let current: UpstreamStream | undefined;
  let currentAddress: string | undefined;
  let attemptStartedAt = 0;
  let committed = false;
  let finished = false;
  let firstMessageAt: number | undefined;
  const counter = new GrpcMessageCounter();
  let deadlineTimer: NodeJS.Timeout | undefined;

  const baseHeaders: OutgoingHttpHeaders = {};
  for (const name in options.headers) {
    if (dropRequestHeaders.has(name)) continue;
    baseHeaders[name] = options.headers[name];
  }
  if (options.extraHeaders) Object.assign(baseHeaders, options.extraHeaders);

  const finish = (code: number, message: string) => {
    if (finished) return;
    finished = true;
    if (deadlineTimer) clearTimeout(deadlineTimer);
    down.off("data", onRequestData);
    options.onFinish?.({
      code,
      message,
      address: currentAddress,
      attempts,
      durationMs: performance.now() - startedAt,
      firstMessageMs: firstMessageAt === undefined ? undefined : firstMessageAt - startedAt,
      messages: counter.messages,
    });
  };

  /** Answers the caller with a status of the proxy's own and stops everything. */
  const fail = (code: Code, message: string) => {
    cancelUpstream();
    endWithStatus(res, code, message);
    finish(code, message);
  };

  const cancelUpstream = () => {
    const up = current?.stream;
    if (up && !up.closed && !up.destroyed) up.close(constants.NGHTTP2_CANCEL);
  };

  const endAttempt = (code: number, failure?: AttemptFailureKind) => {
    if (currentAddress === undefined) return;
    options.onAttemptEnd?.({
      address: currentAddress,
      code,
      ...(failure ? { failure } : {}),
      durationMs: performance.now() - attemptStartedAt,
    });
  };

  /** An attempt failed before the response started: retry elsewhere when allowed, else answer. */
  const attemptFailed = (kind: AttemptFailureKind, code: Code, message: string) => {
    endAttempt(code, kind);
    const address = currentAddress ?? "";
    current = undefined;
    const remaining =
      deadlineAt === undefined ? Number.POSITIVE_INFINITY : deadlineAt - performance.now();
    if (
      replay !== undefined &&
      attempts < maxAttempts &&
      remaining > 0 &&
      !down.destroyed &&
      options.mayRetry({ kind, address, message }, attempts)
    ) {
      start();
      return;
    }
    fail(code, message);
  };

  const onRequestData = (chunk: Buffer) => {
    if (replay !== undefined) {
      replayBytes += chunk.length;
      if (replayBytes > maxReplayBytes) replay = undefined;
      else replay.push(chunk);
    }
    const up = current?.stream;
    if (up && !up.writableEnded && !up.write(chunk)) {
      down.pause();
      up.once("drain", () => down.resume());
    }
  };
  const onRequestEnd = () => {
    requestEnded = true;
    const up = current?.stream;
    if (up && !up.writableEnded) up.end();
  };
  const onCallerGone = () => {
    if (finished) return;
    cancelUpstream();
    if (currentAddress !== undefined && current) endAttempt(Code.Canceled);
    finish(Code.Canceled, "caller cancelled");
  };

  const commit = (headers: OutgoingHttpHeaders) => {
    committed = true;
    replay = undefined;
    const out: OutgoingHttpHeaders = {};
    for (const name in headers) {
      if (dropResponseHeaders.has(name)) continue;
      out[name] = headers[name];
    }
    down.respond(out, { waitForTrailers: true });
  };

  function start() {
    const picked = options.pick(tried);
    if (picked instanceof ConnectError) {
      fail(picked.code, picked.rawMessage);
      return;
    }
    const address = picked;
    attempts++;
    tried.push(address);
    currentAddress = address;
    attemptStartedAt = performance.now();

    const headers: OutgoingHttpHeaders = { ...baseHeaders, ":scheme": "http" };
    if (deadlineAt !== undefined) {
      headers["grpc-timeout"] = formatGrpcTimeout(deadlineAt - performance.now());
    }
    let attempt: UpstreamStream;
    try {
      attempt = pool.open(address, headers);
    } catch (err) {
      current = undefined;
      attemptFailed(
        "connect",
        Code.Unavailable,
        `cannot open a stream to ${address}: ${String(err)}`,
      );
      return;
    }
    current = attempt;
    options.onAttemptStart?.(address);
    const up: ClientHttp2Stream = attempt.stream;

    let responseHeaders: (IncomingHttpHeaders & IncomingHttpStatusHeader) | undefined;
    let trailers: IncomingHttpHeaders | undefined;
    let settled = false;

    up.on("response", (headers) => {
      responseHeaders = headers;
    });
    up.on("trailers", (headers) => {
      trailers = headers;
    });
    up.on("data", (chunk: Buffer) => {
      if (finished || settled) return;
      if (!committed) commit(responseHeaders ?? { ":status": 200 });
      if (firstMessageAt === undefined) firstMessageAt = performance.now();
      counter.push(chunk);
      if (!down.write(chunk)) {
        up.pause();
        down.once("drain", () => up.resume());
      }
    });
    up.on("end", () => {
      if (settled || finished) return;
      settled = true;
      const status = Number(responseHeaders?.[":status"] ?? 0);
      const rawCode = headerString(trailers?.["grpc-status"] ?? responseHeaders?.["grpc-status"]);
      const rawMessage =
        headerString(trailers?.["grpc-message"] ?? responseHeaders?.["grpc-message"]) ?? "";
      let code = rawCode === undefined ? undefined : Number(rawCode);
      let message = decodeGrpcMessage(rawMessage);
      if (status !== 200) {
        code = codeForHttpStatus(status);
        message = `upstream ${address} answered HTTP ${status}`;
      } else if (code === undefined || !Number.isInteger(code)) {
        code = Code.Internal;
        message = `upstream ${address} ended the call without a gRPC status`;
      }
      if (committed) {
        endAttempt(code);
        const out: Record<string, string | string[]> = {};
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
        res.addTrailers(out);
        down.end();
        closeAfterResponse();
        finish(code, message);
        return;
      }
      if (code === Code.Unavailable && status === 200) {
        attemptFailed("unavailable", code, message);
        return;
      }
      endAttempt(code);
      if (status === 200 && rawCode !== undefined && responseHeaders) {
        // Pass the upstream's status on as one Trailers-Only response, metadata included.
        const out: OutgoingHttpHeaders = {};
        for (const name in responseHeaders) {
          if (!dropResponseHeaders.has(name)) out[name] = responseHeaders[name];
        }
        if (trailers) Object.assign(out, trailers);
        if (!down.destroyed && !down.headersSent) {
          down.respond(out, { endStream: true });
          closeAfterResponse();
        }
        finish(code, message);
        return;
      }
      fail(code, message);
    });
    up.on("error", () => {
      // The 'close' handler below classifies the failure; errors need a listener to stay quiet.
    });
    up.on("close", () => {
      if (settled || finished) return;
      settled = true;
      const lastId = attempt.goawayLastStreamId();
      if (!attempt.connected()) {
        attemptFailed("connect", Code.Unavailable, `upstream ${address} is unreachable`);
      } else if (
        up.rstCode === constants.NGHTTP2_REFUSED_STREAM ||
        (lastId !== undefined && (up.id === undefined || up.id > lastId))
      ) {
        attemptFailed("refused", Code.Unavailable, `upstream ${address} refused the call`);
      } else if (committed) {
        endAttempt(Code.Unavailable, "reset");
        endWithStatus(
          res,
          Code.Unavailable,
          `upstream ${address} reset the call (code ${up.rstCode})`,
        );
        finish(Code.Unavailable, "upstream reset the call");
      } else {
        attemptFailed(
          "reset",
          Code.Unavailable,
          `upstream ${address} reset the call before answering (code ${up.rstCode})`,
        );
      }
    });

    if (replay !== undefined) {
      for (const chunk of replay) up.write(chunk);
    } else if (options.prefix && attempts === 1) {
      for (const chunk of options.prefix) up.write(chunk);
    }
    if (requestEnded) up.end();
  }

  /** Once the response is complete, stop a caller that is still uploading. */
  const closeAfterResponse = () => {
    if (down.readableEnded) return;
    down.once("finish", () => {
      if (!down.closed) down.close(constants.NGHTTP2_NO_ERROR);
    });
  };

  if (deadlineAt !== undefined) {
    const delay = deadlineAt - performance.now();
    if (delay <= 0) {
      fail(Code.DeadlineExceeded, "deadline exceeded before the call was forwarded");
      return;
    }
    deadlineTimer = setTimeout(() => {
      if (finished) return;
      if (current) endAttempt(Code.DeadlineExceeded);
      fail(Code.DeadlineExceeded, "deadline exceeded");
    }, delay);
  }
  down.on("data", onRequestData);
  // The request may have ended while its first message was being read.
  if (down.readableEnded) requestEnded = true;
  else down.once("end", onRequestEnd);
  down.once("close", onCallerGone);
  down.once("aborted", onCallerGone);
  start();
  if (!finished) down.resume();
}
