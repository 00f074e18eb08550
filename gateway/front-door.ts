// The public gRPC entry (127.0.0.1:50051 under `npm start`): every call, bidi streams included,
// is relayed frame by frame (platform/h2) to a healthy router from the registry, tried on another router when the
// first could not take it (connect failure, refused stream, GOAWAY). Serves its own
// grpc.health.v1. With service tokens configured it refuses calls without a valid one at the
// edge, before any router is asked.
import type { ConnectRouter } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { AgentLink } from "../gen/agentplatform/v1/link_pb";
import { healthCheckMethods } from "../platform/auth/jwt";
import { type JwtAuthConfig, loadJwtAuthenticator } from "../platform/auth/jwt-config";
import type { ConsulClient } from "../platform/consul/consul-client";
import { type ServiceWatchOptions, watchService } from "../platform/consul/service-watch";
import { addressOf, createBalancer } from "../platform/forwarding/balancer";
import { createRetryBudget } from "../platform/forwarding/retry-budget";
import type { H2Stream } from "../platform/h2/connection";
import { headerValue } from "../platform/h2/header-list";
import type { HeaderList } from "../platform/h2/hpack";
import {
  admitCall,
  nextHopHeaders,
  type RelayTargets,
  startRelayFront,
} from "../platform/h2/relay-front";
import {
  type AttemptFailure,
  type AttemptFailureKind,
  RelayedCall,
} from "../platform/h2/relayed-call";
import { createHealthStatusTable, ServingStatus } from "../platform/health";
import { joinHostPort } from "../platform/listen";
import type { Logger } from "../platform/log";
import { routerServiceName } from "../platform/router-transport";
import { defaultServerLimits, type ServerLimits } from "../platform/server-limits";
import type { TlsFiles } from "../platform/tls";
import { type RelayTrace, startRelayTrace } from "../platform/tracing";

export interface FrontDoorOptions {
  consul: ConsulClient;
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 0. */
  port?: number;
  logger: Logger;
  limits?: Partial<ServerLimits>;
  /** Server certificate for callers; with a CA, callers must present certificates. */
  tls?: TlsFiles;
  /** Client certificate and CA for routers that require TLS. Default: h2c to routers. */
  routerTls?: TlsFiles;
  /** Registry service the routers register as. Default "grpc-router". */
  routerService?: string;
  /** Tuning of the registry watch (tests shorten back-off). */
  watch?: ServiceWatchOptions;
  /**
   * Service tokens (JWT_*): every call needs one, checked here and again by the router; health
   * checks and AgentLink.Connect (dial-in agents bring tokens of their own) never do. The
   * authorization header passes on unchanged. Default: off, calls pass through unchecked.
   */
  auth?: JwtAuthConfig;
}

export interface FrontDoor {
  /** host:port callers dial. */
  readonly address: string;
  readonly port: number;
  /** Routers known healthy now, as host:port. */
  routers(): string[];
  /** NOT_SERVING, GOAWAY, in-flight calls finish within graceMs. */
  close(graceMs?: number): Promise<void>;
}

const healthPathPrefix = "/grpc.health.v1.Health/";
/** Dial-in agents authenticate this with their own per-agent tokens, at the router. */
const agentLinkConnect = `/${AgentLink.typeName}/${AgentLink.method.connect.name}`;
const maxHops = 8;

export async function startFrontDoor(options: FrontDoorOptions): Promise<FrontDoor> {
  const log = options.logger;
  const limits: ServerLimits = { ...defaultServerLimits, ...options.limits };
  const service = options.routerService ?? routerServiceName;
  const watch = watchService(options.consul, service, options.watch ?? {});
  const balancer = createBalancer({
    kind: "p2c",
    onEject: (_s, router, forMs) => log.warn("router taken out of rotation", { router, forMs }),
  });
  const budget = createRetryBudget();
  const auth =
    options.auth && loadJwtAuthenticator(options.auth, [healthCheckMethods, agentLinkConnect]);
  const health = createHealthStatusTable();
  let registryAnswered = false;
  void watch.ready().then(() => {
    registryAnswered = true;
  });

  const noRouter = () =>
    new ConnectError(
      `no healthy router registered as "${service}" in the registry at ${options.consul.address}`,
      Code.Unavailable,
    );

  /** One call passed to a router, frame by frame. */
  class RouterCall extends RelayedCall {
    /** Request bytes that came before the registry first answered. */
    private early: Buffer[] | undefined = [];
    private readonly trace: RelayTrace | undefined;

    constructor(
      down: H2Stream,
      private readonly headers: HeaderList,
      private readonly targets: RelayTargets,
      startedAt: number,
    ) {
      super(down, targets.pool, startedAt);
      this.timesFirstMessage = false;
      // Bidi streams (AgentLink) keep sending: replay only what fits before a router answers.
      this.maxReplayBytes = 256 * 1024;
      this.trace = startRelayTrace(headerValue(headers, ":path") ?? "", headers, "front door");
    }

    start(): void {
      const headers = this.headers;
      const admitted = admitCall(headers, headerValue(headers, ":path") ?? "", this.startedAt, {
        auth,
        maxTimeoutMs: limits.maxTimeoutMs,
        maxHops,
      });
      if ("code" in admitted) {
        this.refuse(admitted.code, admitted.message);
        return;
      }
      this.deadlineAt = admitted.deadlineAt;
      this.upstreamHeaders = nextHopHeaders(
        headers,
        this.targets.pool.scheme,
        this.down.connection.peerAddress,
      );
      budget.call();
      if (registryAnswered) {
        this.go();
        return;
      }
      // First call before the registry answered: wait for it rather than fail.
      void watch.ready().then(() => this.go());
    }

    private go(): void {
      const early = this.early;
      this.early = undefined;
      this.forward(early);
    }

    private refuse(code: number, message: string): void {
      this.early = undefined;
      this.fail(code, message);
    }

    protected override requestData(data: Buffer): void {
      if (this.early !== undefined && !this.finished) this.early.push(data);
      else this.down.consume(data.length);
    }

    protected override pick(tried: readonly string[]): string | ConnectError {
      const chosen = balancer.pick(service, watch.current().instances, tried);
      return chosen ? addressOf(chosen) : noRouter();
    }

    // Routers retry backends themselves; here only failures that prove nothing ran.
    protected override mayRetry(failure: AttemptFailure): boolean {
      return (failure.kind === "connect" || failure.kind === "refused") && budget.tryRetry();
    }

    protected override onAttemptStart(address: string): void {
      balancer.started(address);
      this.trace?.attemptStarted(address, this.upstreamHeaders);
    }

    protected override upstreamName(address: string): string {
      return `router ${address} (${service})`;
    }

    protected override onAttemptEnd(
      address: string,
      code: number,
      failure: AttemptFailureKind | undefined,
    ): void {
      const transport = failure === "connect" || failure === "reset";
      const trace = this.trace;
      const wasEjected = trace !== undefined && balancer.isEjected(address);
      balancer.finished(service, address, transport ? "transport" : "ok");
      if (trace !== undefined) {
        if (!wasEjected && balancer.isEjected(address)) trace.ejected(address);
        trace.attemptEnded(code, failure);
      }
      if (transport) watch.refresh();
    }

    protected override onFinish(): void {
      this.trace?.finished(this.code, this.message);
    }
  }

  const front = await startRelayFront({
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
    limits,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.routerTls ? { upstreamTls: options.routerTls } : {}),
    upstream: { onUnresponsive: (router) => balancer.unresponsive(router) },
    internal: { routes: (router: ConnectRouter) => health.routes(router) },
    // The public edge: one peer address gets a bounded share of connections and calls.
    limitPeers: true,
    take: (targets) => (stream, headers, startedAt) => {
      const path = headerValue(headers, ":path") ?? "";
      if (path.startsWith(healthPathPrefix)) return false;
      const contentType = headerValue(headers, "content-type") ?? "";
      if (
        !contentType.startsWith("application/grpc") ||
        contentType.startsWith("application/grpc-web")
      ) {
        return false;
      }
      new RouterCall(stream, headers, targets, startedAt).start();
      return true;
    },
    logger: log,
  });
  const address = joinHostPort(options.host ?? "127.0.0.1", front.port);
  log.info("gRPC front door listening", {
    address,
    routers: service,
    serviceTokens: auth ? "checked" : "off",
  });

  let closing: Promise<void> | undefined;
  return {
    address,
    port: front.port,
    routers: () => watch.current().instances.map(addressOf),
    close(graceMs = limits.shutdownGraceMs) {
      closing ??= (async () => {
        health.setAll(ServingStatus.NOT_SERVING);
        await front.close(graceMs);
        watch.stop();
      })();
      return closing;
    },
  };
}
