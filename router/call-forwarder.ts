// Routed calls on node:http2 streams, inside the router's internal Connect server: reads the
// target id from the first request message and hands the call to a dial-in agent linked here
// (or, if the link went away meanwhile, forwards it to a healthy instance). The hot path for
// every other routed call is the frame relay in ./routed-relay.ts, which shares `Routing` and
// `readTarget` from here.
//
// It works on the bare HTTP/2 stream (no compatibility request/response objects), and one
// RoutedCall object carries a call from its first byte to its metrics record.
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { gunzipSync } from "node:zlib";
import { Code, ConnectError } from "@connectrpc/connect";
import type { JwtAuthenticator } from "../platform/auth/jwt";
import { type AttemptVerdict, addressOf, type Balancer } from "../platform/forwarding/balancer";
import { type FirstMessage, FirstMessageReader } from "../platform/forwarding/first-message";
import {
  type AttemptFailure,
  type AttemptFailureKind,
  ForwardedCall,
} from "../platform/forwarding/forward-call";
import { parseGrpcTimeout } from "../platform/forwarding/grpc-timeout";
import { addHopHeaders, hopsIn } from "../platform/forwarding/hop-headers";
import { readStringField, WireFormatError } from "../platform/forwarding/protobuf-wire";
import type { RetryBudget } from "../platform/forwarding/retry-budget";
import type { UpstreamPool } from "../platform/forwarding/upstream-pool";
import type { RawStreamHandler } from "../platform/grpc-server";
import type { Logger } from "../platform/log";
import type { ServiceInstance } from "../registry/service-watch";
import type { LinkedAgents } from "./agent-link/linked-agents";
import type { EndpointDirectory, ServiceView } from "./endpoint-directory";
import { serveLinkedCall } from "./linked-call";
import type { CallRecord, CallRecorder } from "./metrics/call-recorder";
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
  /**
   * Service tokens: every call is checked before its body is read or anything is forwarded.
   * The authorization header still goes to the backend. Default none (no check).
   */
  auth?: JwtAuthenticator;
  logger: Logger;
}

const grpcContentTypes = new Set(["application/grpc", "application/grpc+proto"]);

/** The gRPC status for a failed attempt, as the balancer counts it. */
export function verdictFor(code: number, failure: AttemptFailureKind | undefined): AttemptVerdict {
  if (failure === "connect" || failure === "reset") return "transport";
  if (failure !== undefined || code === Code.Unavailable) return "failure";
  return "ok";
}

/** Where a service's calls may go, worked out once per registry answer. */
interface Candidates {
  /** The router's own address when this was worked out. */
  self: string;
  /** host:port of every instance but this router, or why there is none to use. */
  addresses: readonly string[] | ConnectError;
}

/** A routed call's target id and its first message, inflated when it came compressed. */
export interface Target {
  id: string;
  payload: Uint8Array;
}

/**
 * The target id in a routed call's first message, or why it cannot be read: a compressed
 * message is inflated first (gzip only, within maxBytes).
 */
export function readTarget(
  first: FirstMessage,
  encoding: string | undefined,
  routed: RoutedMethod,
  maxBytes: number,
): Target | ConnectError {
  let payload: Uint8Array = first.payload;
  if (first.compressed) {
    const name = encoding ?? "identity";
    if (name !== "gzip") {
      return name === "identity"
        ? new ConnectError("message flagged compressed without grpc-encoding", Code.InvalidArgument)
        : new ConnectError(`grpc-encoding "${name}" is not supported`, Code.Unimplemented);
    }
    try {
      payload = gunzipSync(payload, { maxOutputLength: maxBytes });
    } catch (err) {
      return new ConnectError(
        `cannot decompress the request: ${err instanceof Error ? err.message : String(err)}`,
        (err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE"
          ? Code.ResourceExhausted
          : Code.InvalidArgument,
      );
    }
  }
  let id: string;
  try {
    id = readStringField(payload, routed.targetField);
  } catch (err) {
    const reason = err instanceof WireFormatError ? err.message : String(err);
    return new ConnectError(`malformed request message: ${reason}`, Code.InvalidArgument);
  }
  if (id === "")
    return new ConnectError(`${routed.targetFieldName} is required`, Code.InvalidArgument);
  return { id, payload };
}

/** What every call of one router shares. */
export class Routing {
  readonly maxHops: number;
  // Keyed by the registry answer's instance list, which stays the same object until it changes.
  private readonly candidatesByAnswer = new WeakMap<readonly ServiceInstance[], Candidates>();
  // Client id → registry service, per kind: the same few ids come with every call.
  private readonly services = new Map<string, string>();

  constructor(readonly deps: CallForwarderDeps) {
    this.maxHops = deps.maxHops ?? 8;
  }

  /** The registry service for a client id ("echo-agent" → "agent-echo"). */
  serviceFor(id: string, routed: RoutedMethod): string {
    const key = routed.kind + id;
    let service = this.services.get(key);
    if (service === undefined) {
      service = serviceNameFor(id, routed.kind);
      if (this.services.size >= 10_000) this.services.clear();
      this.services.set(key, service);
    }
    return service;
  }

  /** The instances a call may go to: never this router itself, unless a link here serves it. */
  candidates(view: ServiceView): readonly string[] | ConnectError {
    const self = this.deps.selfAddress();
    const cached = this.candidatesByAnswer.get(view.instances);
    if (cached !== undefined && cached.self === self) return cached.addresses;
    const others = view.instances.filter(
      (i) => addressOf(i) !== self && i.meta.router_id !== this.deps.routerId,
    );
    const addresses =
      others.length === 0 && view.instances.length > 0
        ? new ConnectError(
            `"${view.service}" is registered at this router (${self}) but no agent link for it is held here`,
            Code.Unavailable,
          )
        : others.map(addressOf);
    this.candidatesByAnswer.set(view.instances, { self, addresses });
    return addresses;
  }

  /** For a service with no instance in view (or none yet): why, or the instances once known. */
  async resolve(
    view: ServiceView | Promise<ServiceView>,
    id: string,
    method: RoutedMethod,
    service: string,
  ): Promise<readonly string[] | ConnectError> {
    const current = await view;
    if (current.instances.length > 0) return this.candidates(current);
    let registered: boolean;
    try {
      registered = await this.deps.directory.isRegistered(service);
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
  }
}

/** One call through the router, from its first byte to its metrics record. */
class RoutedCall extends ForwardedCall implements CallRecord {
  /** Registry service the call was routed to; "" until resolved. */
  service = "";
  /** Reads the first message; undefined once the call is routed (or refused). */
  private reader: FirstMessageReader | undefined;
  /** The first message is in and the target is being looked up. */
  private resolving = false;
  /** Handed to a dial-in agent: the forwarding machinery stays out of it. */
  private linked = false;
  private addresses: readonly string[] = [];

  constructor(
    private readonly routing: Routing,
    down: ServerHttp2Stream,
    private readonly requestHeaders: IncomingHttpHeaders,
    private readonly routed: RoutedMethod,
  ) {
    super(down, requestHeaders, routing.deps.pool, performance.now());
    this.reader = new FirstMessageReader(routing.deps.maxMessageBytes);
    // The recorder takes time to first message from streaming calls only.
    this.timesFirstMessage = routed.linked === "stream";
  }

  // CallRecord: the recorder reads these when the call finishes.
  get method(): string {
    return this.routed.path;
  }
  get backend(): string {
    return this.address ?? "";
  }
  get streaming(): boolean {
    return this.routed.linked === "stream";
  }
  get ttfbMs(): number | undefined {
    return this.firstMessageMs;
  }
  get retried(): boolean {
    return this.attempts > 1;
  }

  start(): void {
    const deps = this.routing.deps;
    const headers = this.requestHeaders;
    if (deps.auth !== undefined) {
      const decision = deps.auth.check(this.routed.path, headers.authorization);
      if (!decision.allowed) {
        this.refuse(decision.code, decision.message);
        return;
      }
    }
    const timeoutMs = parseGrpcTimeout(headers["grpc-timeout"]);
    if (timeoutMs !== undefined) {
      if (Number.isNaN(timeoutMs)) {
        this.refuse(
          Code.InvalidArgument,
          `malformed grpc-timeout "${String(headers["grpc-timeout"])}"`,
        );
        return;
      }
      if (deps.maxTimeoutMs > 0 && timeoutMs > deps.maxTimeoutMs) {
        this.refuse(
          Code.InvalidArgument,
          `deadline of ${timeoutMs} ms is longer than the limit of ${deps.maxTimeoutMs} ms`,
        );
        return;
      }
      this.deadlineAt = this.startedAt + timeoutMs;
    }
    const hops = hopsIn(headers);
    if (hops >= this.routing.maxHops) {
      this.refuse(Code.Unavailable, `call passed ${hops} proxies already: routing loop suspected`);
      return;
    }
    this.listen();
  }

  private refuse(code: number, message: string): void {
    this.reader = undefined;
    this.fail(code, message);
  }

  protected override receive(chunk: Buffer): void {
    const reader = this.reader;
    if (reader === undefined) {
      if (!this.linked) super.receive(chunk);
      return;
    }
    if (this.finished) return;
    if (this.resolving) {
      // Bytes after the first message, while the target is looked up: kept to forward.
      reader.chunks.push(chunk);
      return;
    }
    let first: FirstMessage | undefined;
    try {
      first = reader.push(chunk);
    } catch (err) {
      const error = ConnectError.from(err);
      this.refuse(error.code, error.rawMessage);
      return;
    }
    if (first === undefined) return;
    this.resolving = true;
    try {
      this.route(first);
    } catch (err) {
      this.routing.deps.logger.error("forwarding failed", { err, method: this.routed.path });
      this.refuse(Code.Internal, "router failed to forward the call");
    }
  }

  protected override requestEnd(): void {
    if (this.reader !== undefined && !this.resolving) {
      if (this.finished) return;
      const error = this.reader.endedEarly();
      this.refuse(error.code, error.rawMessage);
      return;
    }
    super.requestEnd();
  }

  protected override callerGone(): void {
    if (!this.linked) super.callerGone();
  }

  private route(first: FirstMessage): void {
    const deps = this.routing.deps;
    const routed = this.routed;
    const target = readTarget(
      first,
      this.requestHeaders["grpc-encoding"] as string | undefined,
      routed,
      deps.maxMessageBytes,
    );
    if (target instanceof ConnectError) {
      this.refuse(target.code, target.rawMessage);
      return;
    }
    const { id, payload } = target;
    const service = this.routing.serviceFor(id, routed);
    this.service = service;

    const linked = deps.linkedAgents;
    if (routed.linked && linked?.hasLocal(service)) {
      this.serveLinked(linked, payload);
      return;
    }

    const view = deps.directory.view(service);
    if (view instanceof Promise || view.instances.length === 0) {
      // First call for this service, or nothing healthy: ask the registry, holding the caller.
      this.down.pause();
      this.routing.resolve(view, id, routed, service).then(
        (addresses) => this.resolved(addresses),
        (err: unknown) => {
          deps.logger.error("forwarding failed", { err, method: routed.path });
          this.refuse(Code.Internal, "router failed to forward the call");
        },
      );
      return;
    }
    this.resolved(this.routing.candidates(view));
  }

  private resolved(addresses: readonly string[] | ConnectError): void {
    const reader = this.reader;
    if (this.finished || reader === undefined) return;
    if (addresses instanceof ConnectError) {
      this.refuse(addresses.code, addresses.rawMessage);
      return;
    }
    this.addresses = addresses;
    this.reader = undefined;
    // The budget counts calls per second of wall-clock time; this spares a clock read.
    this.routing.deps.budget.call(performance.timeOrigin + this.startedAt);
    addHopHeaders(this.upstreamHeaders, this.requestHeaders, this.down);
    this.forward(reader.chunks);
  }

  private serveLinked(linked: LinkedAgents, payload: Uint8Array): void {
    const recorder = this.routing.deps.recorder;
    const path = this.routed.path;
    const streaming = this.routed.linked === "stream";
    this.linked = true;
    this.reader = undefined;
    recorder?.callStarted(path, "", streaming);
    void serveLinkedCall({
      res: this.down,
      linked,
      service: this.service,
      payload,
      streaming,
      deadlineAt: this.deadlineAt,
    }).then((result) => {
      this.finished = true;
      recorder?.callEnded(path, "", streaming);
      recorder?.record({
        method: path,
        service: this.service,
        backend: "",
        code: result.code,
        durationMs: performance.now() - this.startedAt,
        streaming,
        // Time to first message is a stream statistic; a unary reply's is just its duration.
        ttfbMs: streaming ? result.firstMessageMs : undefined,
        messages: result.messages,
        retried: false,
      });
    });
  }

  protected override pick(tried: readonly string[]): string | ConnectError {
    const chosen = this.routing.deps.balancer.pickAddress(this.service, this.addresses, tried);
    if (chosen !== undefined) return chosen;
    return new ConnectError(
      `no healthy instance of "${this.service}" left to try (${tried.length} tried)`,
      Code.Unavailable,
    );
  }

  protected override mayRetry(failure: AttemptFailure): boolean {
    if (failure.kind === "reset" && !this.routed.idempotent) return false;
    if (!this.routing.deps.budget.tryRetry()) {
      this.routing.deps.logger.debug("retry budget spent", {
        service: this.service,
        failure: failure.message,
      });
      return false;
    }
    return true;
  }

  protected override onAttemptStart(address: string): void {
    this.routing.deps.balancer.started(address);
    this.routing.deps.recorder?.callStarted(
      this.routed.path,
      address,
      this.routed.linked === "stream",
    );
  }

  protected override onAttemptEnd(
    address: string,
    code: number,
    failure: AttemptFailureKind | undefined,
  ): void {
    const deps = this.routing.deps;
    deps.balancer.finished(this.service, address, verdictFor(code, failure));
    deps.recorder?.callEnded(this.routed.path, address, this.routed.linked === "stream");
    if (failure === "connect" || failure === "reset") deps.directory.refresh(this.service);
  }

  protected override onFinish(): void {
    this.routing.deps.recorder?.record(this);
  }
}

export function createCallForwarder(deps: CallForwarderDeps): RawStreamHandler {
  const routing = new Routing(deps);
  return (stream, headers) => {
    const method = routedMethods.get(headers[":path"] ?? "");
    if (method === undefined) return false;
    const contentType = headers["content-type"];
    if (contentType === undefined || !grpcContentTypes.has(contentType)) return false;
    const call = new RoutedCall(routing, stream, headers, method);
    try {
      call.start();
    } catch (err) {
      deps.logger.error("forwarding failed", { err, method: method.path });
      if (!call.finished) call.fail(Code.Internal, "router failed to forward the call");
    }
    return true;
  };
}
