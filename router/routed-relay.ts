// The router's hot path: a routed gRPC call (agent, tool and worker methods) is read up to its
// target id and relayed frame by frame to a healthy instance. Everything else the router's
// front leaves to its internal Connect server (platform/h2/relay-front.ts), and so are calls
// for a dial-in agent linked here, since the link lives there.
import { Code, ConnectError } from "@connectrpc/connect";
import { type FirstMessage, FirstMessageReader } from "../platform/forwarding/first-message";
import type { H2Stream } from "../platform/h2/connection";
import { headerValue } from "../platform/h2/header-list";
import type { HeaderList } from "../platform/h2/hpack";
import {
  admitCall,
  InternalCall,
  nextHopHeaders,
  type RelayTargets,
  type StreamTaker,
} from "../platform/h2/relay-front";
import {
  type AttemptFailure,
  type AttemptFailureKind,
  RelayedCall,
} from "../platform/h2/relayed-call";
import { type RelayTrace, startRelayTrace } from "../platform/tracing";
import type { AdmittedCall } from "./admission";
import type { CallRecord } from "./metrics/call-recorder";
import { type RoutedMethod, routedMethods } from "./routed-methods";
import { grpcContentTypes, type Routing, readTarget, verdictFor } from "./routing";

/** One routed call, from its first byte to its metrics record. */
class RoutedCall extends RelayedCall implements CallRecord, AdmittedCall {
  service = "";
  /** performance.now() when the current attempt started, for the instance's latency. */
  private attemptStartedAt = 0;
  private reader: FirstMessageReader | undefined;
  private resolving = false;
  private addresses: readonly string[] = [];
  private readonly trace: RelayTrace | undefined;
  /** The call holds a place in the overload control's accounting. */
  private admissionControlled = false;
  /** Let in by overload control, holding a place until the first attempt starts. */
  private holdsPlace = false;

  constructor(
    private readonly routing: Routing,
    private readonly targets: RelayTargets,
    down: H2Stream,
    private readonly requestHeaders: HeaderList,
    private readonly routed: RoutedMethod,
    startedAt: number,
  ) {
    super(down, targets.pool, startedAt);
    this.reader = new FirstMessageReader(routing.deps.maxMessageBytes);
    this.timesFirstMessage = routed.linked === "stream" || routed.linked === "exec";
    this.trace = startRelayTrace(routed.path, requestHeaders, "router");
  }

  // CallRecord: the recorder reads these when the call finishes.
  get method(): string {
    return this.routed.path;
  }
  get backend(): string {
    return this.address ?? "";
  }
  get streaming(): boolean {
    return this.routed.linked === "stream" || this.routed.linked === "exec";
  }
  get ttfbMs(): number | undefined {
    return this.firstMessageMs;
  }
  get retried(): boolean {
    return this.attempts > 1;
  }

  start(): void {
    const deps = this.routing.deps;
    const admitted = admitCall(this.requestHeaders, this.routed.path, this.startedAt, {
      auth: deps.auth,
      maxTimeoutMs: deps.maxTimeoutMs,
      maxHops: this.routing.maxHops,
    });
    if ("code" in admitted) {
      this.refuse(admitted.code, admitted.message);
      return;
    }
    this.deadlineAt = admitted.deadlineAt;
    if (this.requestEnded) this.requestData(Buffer.alloc(0), true);
  }

  private refuse(code: number, message: string, extra?: HeaderList): void {
    this.reader = undefined;
    this.fail(code, message, extra);
  }

  // AdmittedCall: the router's overload control holds or refuses calls past instances' limits.
  get candidates(): readonly string[] {
    return this.addresses;
  }
  admitted(): void {
    this.holdsPlace = true;
    if (this.finished) this.releasePlace();
    else this.go();
  }
  refused(code: number, message: string, pushbackMs: number): void {
    this.refuse(
      code,
      message,
      pushbackMs > 0 ? ["grpc-retry-pushback-ms", String(pushbackMs)] : undefined,
    );
  }

  protected override requestData(data: Buffer, end: boolean): void {
    const reader = this.reader;
    if (reader === undefined || this.finished) {
      this.down.consume(data.length);
      return;
    }
    if (this.resolving) {
      // Bytes after the first message, while the target is looked up: kept to forward.
      reader.chunks.push(data);
      return;
    }
    let first: FirstMessage | undefined;
    try {
      first = data.length > 0 ? reader.push(data) : undefined;
    } catch (err) {
      const error = ConnectError.from(err);
      this.refuse(error.code, error.rawMessage);
      return;
    }
    if (first === undefined) {
      if (end) {
        const error = reader.endedEarly();
        this.refuse(error.code, error.rawMessage);
      }
      return;
    }
    this.resolving = true;
    try {
      this.route(first);
    } catch (err) {
      this.routing.deps.logger.error("forwarding failed", {
        err,
        method: this.routed.path,
        ...this.trace?.ids(),
      });
      this.refuse(Code.Internal, "router failed to forward the call");
    }
  }

  private route(first: FirstMessage): void {
    const deps = this.routing.deps;
    const routed = this.routed;
    const target = readTarget(
      first,
      headerValue(this.requestHeaders, "grpc-encoding"),
      routed,
      deps.maxMessageBytes,
    );
    if (target instanceof ConnectError) {
      this.refuse(target.code, target.rawMessage);
      return;
    }
    const service = this.routing.serviceFor(target.id, routed);
    this.service = service;

    if (routed.linked && deps.linkedAgents?.hasLocal(service)) {
      // The link lives in the internal server: the call goes there unchanged (it takes over the
      // caller's stream), and is served and recorded there.
      const reader = this.reader;
      this.reader = undefined;
      this.trace?.handOff(this.requestHeaders, "linked agent");
      new InternalCall(this.down, this.requestHeaders, this.targets, this.startedAt).forward(
        reader?.chunks,
      );
      return;
    }

    const view = deps.directory.view(service);
    if (view instanceof Promise || view.instances.length === 0) {
      // First call for this service, or nothing healthy: ask the registry, holding the caller.
      this.routing.resolve(view, target.id, routed, service).then(
        (addresses) => this.resolved(addresses),
        (err: unknown) => {
          deps.logger.error("forwarding failed", {
            err,
            method: routed.path,
            ...this.trace?.ids(),
          });
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
    // Streams stay open as long as the task runs, and a request the caller has not finished
    // sending keeps the instance waiting on the caller, not working: their length says nothing
    // about load, and counting them would let idle callers take every place.
    const admission =
      this.streaming || !this.requestEnded ? undefined : this.routing.deps.admission;
    this.admissionControlled = admission !== undefined;
    if (admission !== undefined) {
      if (admission.admit(this) !== "now") return;
      this.holdsPlace = true;
    }
    this.go();
  }

  /** Forwards the call: admitted at once, or let in from the queue. */
  private go(): void {
    const reader = this.reader;
    if (reader === undefined) return;
    this.reader = undefined;
    // The budget counts calls per second of wall-clock time; this spares a clock read.
    this.routing.deps.budget.call(performance.timeOrigin + this.startedAt);
    this.upstreamHeaders = nextHopHeaders(
      this.requestHeaders,
      this.targets.pool.scheme,
      this.down.connection.peerAddress,
    );
    this.forward(reader.chunks);
  }

  /** Gives back the place a call let in held when it ends before any attempt started. */
  private releasePlace(): void {
    if (!this.holdsPlace) return;
    this.holdsPlace = false;
    this.routing.deps.admission?.released(this.service);
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
    const deps = this.routing.deps;
    if (!deps.budget.tryRetry()) {
      deps.logger.debug("retry budget spent", { service: this.service, failure: failure.message });
      return false;
    }
    return true;
  }

  protected override upstreamName(address: string): string {
    return `${this.service} instance ${address}`;
  }

  protected override onAttemptStart(address: string): void {
    this.routing.deps.balancer.started(address);
    this.trace?.attemptStarted(address, this.upstreamHeaders);
    this.routing.deps.recorder?.callStarted(this.routed.path, address, this.streaming);
    const admission = this.admissionControlled ? this.routing.deps.admission : undefined;
    if (admission !== undefined) {
      admission.started(this.service, address, this.holdsPlace);
      this.holdsPlace = false;
      this.attemptStartedAt = performance.now();
    }
  }

  protected override onAttemptEnd(
    address: string,
    code: number,
    failure: AttemptFailureKind | undefined,
  ): void {
    const deps = this.routing.deps;
    const trace = this.trace;
    const wasEjected = trace !== undefined && deps.balancer.isEjected(address);
    deps.balancer.finished(this.service, address, verdictFor(code, failure));
    if (trace !== undefined) {
      if (!wasEjected && deps.balancer.isEjected(address)) trace.ejected(address);
      trace.attemptEnded(code, failure);
    }
    deps.recorder?.callEnded(this.routed.path, address, this.streaming);
    if (failure === "connect" || failure === "reset") deps.directory.refresh(this.service);
    if (this.admissionControlled) {
      deps.admission?.ended(this.service, address, performance.now() - this.attemptStartedAt);
    }
  }

  protected override onFinish(): void {
    this.releasePlace();
    this.trace?.finished(this.code, this.message);
    this.routing.deps.recorder?.record(this);
  }
}

/** Takes the routed gRPC calls; the rest goes to the internal server. */
export function createRoutedCallTaker(routing: Routing, targets: RelayTargets): StreamTaker {
  const log = routing.deps.logger;
  return (stream, headers, startedAt) => {
    const routed = routedMethods.get(headerValue(headers, ":path") ?? "");
    if (routed === undefined) return false;
    const contentType = headerValue(headers, "content-type");
    if (contentType === undefined || !grpcContentTypes.has(contentType)) return false;
    const call = new RoutedCall(routing, targets, stream, headers, routed, startedAt);
    try {
      call.start();
    } catch (err) {
      log.error("forwarding failed", { err, method: routed.path });
      if (!call.finished) call.fail(Code.Internal, "router failed to forward the call");
    }
    return true;
  };
}
