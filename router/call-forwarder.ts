// The router's hot path: reads the target id from the first request message, resolves it to a
// healthy instance and passes the call through (or hands it to a dial-in agent linked here).
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { gunzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import { type AttemptVerdict, addressOf, type Balancer } from "../platform/forwarding/balancer";
import { readFirstMessage } from "../platform/forwarding/first-message";
import { type ForwardResult, forwardCall } from "../platform/forwarding/forward-call";
import { endWithStatus } from "../platform/forwarding/grpc-status";
import { parseGrpcTimeout } from "../platform/forwarding/grpc-timeout";
import { hopsOf, nextHopHeaders } from "../platform/forwarding/hop-headers";
import { readStringField, WireFormatError } from "../platform/forwarding/protobuf-wire";
import type { RetryBudget } from "../platform/forwarding/retry-budget";
import type { UpstreamPool } from "../platform/forwarding/upstream-pool";
import type { RawRequestHandler } from "../platform/grpc-server";
import type { Logger } from "../platform/log";
import type { ServiceInstance } from "../registry/service-watch";
import type { LinkedAgents } from "./agent-link/linked-agents";
import type { EndpointDirectory, ServiceView } from "./endpoint-directory";
import { serveLinkedCall } from "./linked-call";
import type { CallRecorder } from "./metrics/call-recorder";
import { type RoutedMethod, routedMethods, serviceNameFor } from "./routed-methods";

export interface CallForwarderDeps {
  directory: EndpointDirectory;
  balancer: Balancer;
  pool: UpstreamPool;
  budget: RetryBudget;
  routerId: string;
  /** host:port this router is registered at: never forwarded to (it would loop). */
  selfAddress: () => string;
  linkedAgents: LinkedAgents | undefined;
  recorder: CallRecorder | undefined;
  maxMessageBytes: number;
  /** Longest deadline accepted, in ms; 0 for no limit. */
  maxTimeoutMs: number;
  /** Hops a call may have taken through proxies before this one; past it, a loop is assumed. */
  maxHops?: number;
  logger: Logger;
}

const grpcContentTypes = new Set(["application/grpc", "application/grpc+proto"]);

/** The gRPC status for a failed attempt, as the balancer counts it. */
function verdictFor(code: number, failure: string | undefined): AttemptVerdict {
  if (failure === "connect" || failure === "reset") return "transport";
  if (failure !== undefined || code === Code.Unavailable) return "failure";
  return "ok";
}

export function createCallForwarder(deps: CallForwarderDeps): RawRequestHandler {
  const { directory, balancer, pool, budget, recorder, logger } = deps;
  const maxHops = deps.maxHops ?? 8;

  const record = (
    method: string,
    service: string,
    result: ForwardResult | undefined,
    extra: {
      code: number;
      durationMs: number;
    },
  ) => {
    recorder?.record({
      method,
      service,
      backend: result?.address ?? "",
      code: extra.code,
      durationMs: extra.durationMs,
      ttfbMs: result?.firstMessageMs,
      messages: result?.messages ?? 0,
      retried: (result?.attempts ?? 0) > 1,
    });
  };

  /** Answers a call the router refuses itself, and counts it. */
  const refuse = (
    res: Http2ServerResponse,
    method: string,
    service: string,
    startedAt: number,
    error: ConnectError,
  ) => {
    endWithStatus(res, error.code, error.rawMessage);
    record(method, service, undefined, {
      code: error.code,
      durationMs: performance.now() - startedAt,
    });
  };

  /** The instances a call may go to: never this router itself, unless a link here serves it. */
  const candidates = (view: ServiceView): ServiceInstance[] | ConnectError => {
    const self = deps.selfAddress();
    const others = view.instances.filter(
      (i) => addressOf(i) !== self && i.meta.router_id !== deps.routerId,
    );
    if (others.length === 0 && view.instances.length > 0) {
      return new ConnectError(
        `"${view.service}" is registered at this router (${self}) but no agent link for it is held here`,
        Code.Unavailable,
      );
    }
    return others;
  };

  const resolve = async (
    view: ServiceView | Promise<ServiceView>,
    id: string,
    method: RoutedMethod,
    service: string,
  ): Promise<ServiceInstance[] | ConnectError> => {
    const current = await view;
    if (current.instances.length > 0) return candidates(current);
    let registered: boolean;
    try {
      registered = await directory.isRegistered(service);
    } catch (err) {
      return new ConnectError(
        `cannot resolve "${id}": registry unreachable (${err instanceof Error ? err.message : String(err)})`,
        Code.Unavailable,
      );
    }
    if (!registered) {
      return new ConnectError(
        `unknown ${method.kind} "${id}": no registry service "${service}"`,
        Code.NotFound,
      );
    }
    return new ConnectError(
      `no healthy instance of "${service}" (${method.kind} "${id}")${current.stale ? "; registry unreachable" : ""}`,
      Code.Unavailable,
    );
  };

  async function handle(req: Http2ServerRequest, res: Http2ServerResponse, method: RoutedMethod) {
    const startedAt = performance.now();
    const path = method.path;
    const timeoutMs = parseGrpcTimeout(req.headers["grpc-timeout"]);
    if (timeoutMs !== undefined && Number.isNaN(timeoutMs)) {
      const error = new ConnectError(
        `malformed grpc-timeout "${String(req.headers["grpc-timeout"])}"`,
        Code.InvalidArgument,
      );
      return refuse(res, path, "", startedAt, error);
    }
    if (timeoutMs !== undefined && deps.maxTimeoutMs > 0 && timeoutMs > deps.maxTimeoutMs) {
      const error = new ConnectError(
        `deadline of ${timeoutMs} ms is longer than the limit of ${deps.maxTimeoutMs} ms`,
        Code.InvalidArgument,
      );
      return refuse(res, path, "", startedAt, error);
    }
    const deadlineAt = timeoutMs === undefined ? undefined : startedAt + timeoutMs;
    const hops = hopsOf(req);
    if (hops >= maxHops) {
      const error = new ConnectError(
        `call passed ${hops} proxies already: routing loop suspected`,
        Code.Unavailable,
      );
      return refuse(res, path, "", startedAt, error);
    }

    let first: Awaited<ReturnType<typeof readFirstMessage>>;
    try {
      first = await readFirstMessage(req.stream, deps.maxMessageBytes);
    } catch (err) {
      const error = ConnectError.from(err);
      if (error.code === Code.Canceled) {
        record(path, "", undefined, {
          code: Code.Canceled,
          durationMs: performance.now() - startedAt,
        });
        return;
      }
      return refuse(res, path, "", startedAt, error);
    }

    let payload: Uint8Array = first.payload;
    if (first.compressed) {
      const encoding = String(req.headers["grpc-encoding"] ?? "identity");
      if (encoding !== "gzip") {
        const error =
          encoding === "identity"
            ? new ConnectError(
                "message flagged compressed without grpc-encoding",
                Code.InvalidArgument,
              )
            : new ConnectError(`grpc-encoding "${encoding}" is not supported`, Code.Unimplemented);
        return refuse(res, path, "", startedAt, error);
      }
      try {
        payload = gunzipSync(payload, { maxOutputLength: deps.maxMessageBytes });
      } catch (err) {
        const error = new ConnectError(
          `cannot decompress the request: ${err instanceof Error ? err.message : String(err)}`,
          (err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE"
            ? Code.ResourceExhausted
            : Code.InvalidArgument,
        );
        return refuse(res, path, "", startedAt, error);
      }
    }

    let id: string;
    try {
      id = readStringField(payload, method.targetField);
    } catch (err) {
      const reason = err instanceof WireFormatError ? err.message : String(err);
      const error = new ConnectError(`malformed request message: ${reason}`, Code.InvalidArgument);
      return refuse(res, path, "", startedAt, error);
    }
    if (id === "") {
      const error = new ConnectError(`${method.targetFieldName} is required`, Code.InvalidArgument);
      return refuse(res, path, "", startedAt, error);
    }
    const service = serviceNameFor(id, method.kind);

    const linked = deps.linkedAgents;
    if (method.linked && linked?.hasLocal(service)) {
      recorder?.callStarted(path, "", method.linked === "stream");
      const result = await serveLinkedCall({
        res,
        linked,
        service,
        payload,
        streaming: method.linked === "stream",
        deadlineAt,
      });
      recorder?.callEnded(path, "", method.linked === "stream");
      recorder?.record({
        method: path,
        service,
        backend: "",
        code: result.code,
        durationMs: performance.now() - startedAt,
        ttfbMs: result.firstMessageMs,
        messages: result.messages,
        retried: false,
      });
      return;
    }

    const view = directory.view(service);
    const instances =
      view instanceof Promise || view.instances.length === 0
        ? await resolve(view, id, method, service)
        : candidates(view);
    if (instances instanceof ConnectError) return refuse(res, path, service, startedAt, instances);

    budget.call();
    const streaming = method.linked === "stream";
    forwardCall({
      res,
      headers: req.headers,
      prefix: first.chunks,
      pool,
      startedAt,
      deadlineAt,
      extraHeaders: nextHopHeaders(req),
      pick(tried) {
        const chosen = balancer.pick(service, instances, tried);
        if (chosen) return addressOf(chosen);
        return new ConnectError(
          `no healthy instance of "${service}" left to try (${tried.length} tried)`,
          Code.Unavailable,
        );
      },
      mayRetry(failure) {
        if (failure.kind === "reset" && !method.idempotent) return false;
        if (!budget.tryRetry()) {
          logger.debug("retry budget spent", { service, failure: failure.message });
          return false;
        }
        return true;
      },
      onAttemptStart(address) {
        balancer.started(address);
        recorder?.callStarted(path, address, streaming);
      },
      onAttemptEnd(outcome) {
        balancer.finished(service, outcome.address, verdictFor(outcome.code, outcome.failure));
        recorder?.callEnded(path, outcome.address, streaming);
        if (outcome.failure === "connect" || outcome.failure === "reset") {
          directory.refresh(service);
        }
      },
      onFinish(result) {
        record(path, service, result, { code: result.code, durationMs: result.durationMs });
      },
    });
  }

  return (req, res) => {
    const method = routedMethods.get(req.headers[":path"] ?? "");
    if (method === undefined) return false;
    const contentType = req.headers["content-type"];
    if (contentType === undefined || !grpcContentTypes.has(contentType)) return false;
    handle(req, res, method).catch((err: unknown) => {
      logger.error("forwarding failed", { err, method: method.path });
      endWithStatus(res, Code.Internal, "router failed to forward the call");
    });
    return true;
  };
}
