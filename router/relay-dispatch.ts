// The router's front: every request stream arrives here on our own HTTP/2 framing. A routed
// gRPC call (agent, tool and worker methods) is read up to its target id and relayed frame by
// frame to a healthy instance; everything else (health, reflection, listings, RouterAdmin,
// dial-in links, calls served by a dial-in agent held here) is relayed unchanged to the
// router's internal Connect server over a private local socket.
import { Code, ConnectError } from "@connectrpc/connect";
import { type FirstMessage, FirstMessageReader } from "../platform/forwarding/first-message";
import type { AttemptFailure, AttemptFailureKind } from "../platform/forwarding/forward-call";
import { parseGrpcTimeout } from "../platform/forwarding/grpc-timeout";
import { hopHeader } from "../platform/forwarding/hop-headers";
import type { H2ClientPool } from "../platform/h2/client-pool";
import type { H2Stream } from "../platform/h2/connection";
import { ErrorCode } from "../platform/h2/frames";
import { headerValue, trailersOnlyList } from "../platform/h2/header-list";
import type { HeaderList } from "../platform/h2/hpack";
import { RelayedCall } from "../platform/h2/relayed-call";
import { maxRequestHeaderBytes } from "../platform/h2/server";
import { type Routing, readTarget, verdictFor } from "./call-forwarder";
import type { CallRecord } from "./metrics/call-recorder";
import { type RoutedMethod, routedMethods } from "./routed-methods";

export interface RelayTargets {
  /** Connections to instances (and to the internal server). */
  pool: H2ClientPool;
  /** Where the internal Connect server listens ("unix:/path" or host:port). */
  internalAddress: string;
}

const grpcContentTypes = new Set(["application/grpc", "application/grpc+proto"]);

/** Request headers that describe one connection, or that the relay sets itself. */
const dropRequestHeaders = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
  "grpc-timeout",
  hopHeader,
  "x-forwarded-for",
]);

/** Passes a call unchanged to the internal server; it answers with its own status. */
class InternalCall extends RelayedCall {
  constructor(
    down: H2Stream,
    headers: HeaderList,
    private readonly targets: RelayTargets,
    startedAt: number,
  ) {
    super(down, targets.pool, startedAt);
    this.upstreamHeaders = headers;
    this.timesFirstMessage = false;
  }
  protected override pick(): string {
    return this.targets.internalAddress;
  }
  protected override mayRetry(): boolean {
    return false;
  }
}

/** One routed call, from its first byte to its metrics record. */
class RoutedCall extends RelayedCall implements CallRecord {
  service = "";
  private reader: FirstMessageReader | undefined;
  private resolving = false;
  /** Handed to the internal server (a dial-in agent linked here serves it). */
  private internal = false;
  private addresses: readonly string[] = [];

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
      const decision = deps.auth.check(this.routed.path, headerValue(headers, "authorization"));
      if (!decision.allowed) {
        this.refuse(decision.code, decision.message);
        return;
      }
    }
    const rawTimeout = headerValue(headers, "grpc-timeout");
    const timeoutMs = parseGrpcTimeout(rawTimeout);
    if (timeoutMs !== undefined) {
      if (Number.isNaN(timeoutMs)) {
        this.refuse(Code.InvalidArgument, `malformed grpc-timeout "${String(rawTimeout)}"`);
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
    const hops = hopsOf(headers);
    if (hops >= this.routing.maxHops) {
      this.refuse(Code.Unavailable, `call passed ${hops} proxies already: routing loop suspected`);
      return;
    }
    if (this.requestEnded) this.requestData(Buffer.alloc(0), true);
  }

  private refuse(code: number, message: string): void {
    this.reader = undefined;
    this.fail(code, message);
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
      this.routing.deps.logger.error("forwarding failed", { err, method: this.routed.path });
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
      // The link lives in the internal server; it serves the call and records it.
      const reader = this.reader;
      this.reader = undefined;
      this.internal = true;
      // The deadline goes on as what is left of it (attempt() adds grpc-timeout).
      this.upstreamHeaders = this.requestHeaders.filter(
        (_, i, all) => all[i - (i % 2)] !== "grpc-timeout",
      );
      this.forward(reader?.chunks);
      return;
    }

    const view = deps.directory.view(service);
    if (view instanceof Promise || view.instances.length === 0) {
      // First call for this service, or nothing healthy: ask the registry, holding the caller.
      this.routing.resolve(view, target.id, routed, service).then(
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
    this.upstreamHeaders = this.nextHopHeaders();
    this.forward(reader.chunks);
  }

  /** The request's headers for an instance: pseudo-headers first, hop count and caller added. */
  private nextHopHeaders(): HeaderList {
    const headers = this.requestHeaders;
    const out: HeaderList = [
      ":method",
      "POST",
      ":scheme",
      this.targets.pool.scheme,
      ":path",
      this.routed.path,
      ":authority",
      headerValue(headers, ":authority") ?? "",
    ];
    let forwardedFor: string | undefined;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i] as string;
      if (name.charCodeAt(0) === 58 /* ":" */) continue;
      if (name === "x-forwarded-for") forwardedFor = headers[i + 1];
      if (dropRequestHeaders.has(name)) continue;
      out.push(name, headers[i + 1] as string);
    }
    out.push(hopHeader, String(hopsOf(headers) + 1));
    const peer = this.down.connection.peerAddress;
    const before = forwardedFor === "" ? undefined : forwardedFor;
    if (before !== undefined)
      out.push("x-forwarded-for", peer === "" ? before : `${before}, ${peer}`);
    else if (peer !== "") out.push("x-forwarded-for", peer);
    return out;
  }

  protected override pick(tried: readonly string[]): string | ConnectError {
    if (this.internal) return this.targets.internalAddress;
    const chosen = this.routing.deps.balancer.pickAddress(this.service, this.addresses, tried);
    if (chosen !== undefined) return chosen;
    return new ConnectError(
      `no healthy instance of "${this.service}" left to try (${tried.length} tried)`,
      Code.Unavailable,
    );
  }

  protected override mayRetry(failure: AttemptFailure): boolean {
    if (this.internal) return false;
    if (failure.kind === "reset" && !this.routed.idempotent) return false;
    const deps = this.routing.deps;
    if (!deps.budget.tryRetry()) {
      deps.logger.debug("retry budget spent", { service: this.service, failure: failure.message });
      return false;
    }
    return true;
  }

  protected override onAttemptStart(address: string): void {
    if (this.internal) return;
    this.routing.deps.balancer.started(address);
    this.routing.deps.recorder?.callStarted(this.routed.path, address, this.streaming);
  }

  protected override onAttemptEnd(
    address: string,
    code: number,
    failure: AttemptFailureKind | undefined,
  ): void {
    if (this.internal) return;
    const deps = this.routing.deps;
    deps.balancer.finished(this.service, address, verdictFor(code, failure));
    deps.recorder?.callEnded(this.routed.path, address, this.streaming);
    if (failure === "connect" || failure === "reset") deps.directory.refresh(this.service);
  }

  protected override onFinish(): void {
    if (!this.internal) this.routing.deps.recorder?.record(this);
  }
}

function hopsOf(headers: HeaderList): number {
  const raw = headerValue(headers, hopHeader);
  if (raw === undefined) return 0;
  const hops = Number(raw);
  return Number.isInteger(hops) && hops >= 0 ? hops : 0;
}

/** The router's handler for every request stream its front accepts. */
export function createRelayDispatch(
  routing: Routing,
  targets: RelayTargets,
): (stream: H2Stream, headers: HeaderList, endStream: boolean, headerBytes: number) => void {
  const log = routing.deps.logger;
  return (stream, headers, _endStream, headerBytes) => {
    const startedAt = performance.now();
    if (headerBytes > maxRequestHeaderBytes) {
      stream.sendHeaders(
        trailersOnlyList(
          Code.ResourceExhausted,
          `request headers of ${headerBytes} bytes exceed the limit of ${maxRequestHeaderBytes}`,
        ),
        true,
      );
      if (!stream.remoteEnded) stream.reset(ErrorCode.NO_ERROR);
      return;
    }
    const path = headerValue(headers, ":path") ?? "";
    const routed = routedMethods.get(path);
    const contentType = headerValue(headers, "content-type");
    let call: RelayedCall;
    if (routed !== undefined && contentType !== undefined && grpcContentTypes.has(contentType)) {
      const routedCall = new RoutedCall(routing, targets, stream, headers, routed, startedAt);
      call = routedCall;
      try {
        routedCall.start();
        return;
      } catch (err) {
        log.error("forwarding failed", { err, method: path });
      }
    } else {
      call = new InternalCall(stream, headers, targets, startedAt);
      try {
        call.forward();
        return;
      } catch (err) {
        log.error("relay to the internal server failed", { err, method: path });
      }
    }
    if (!call.finished) call.fail(Code.Internal, "router failed to forward the call");
  };
}
