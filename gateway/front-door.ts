// The public gRPC entry (127.0.0.1:50051 under `npm start`): every call, bidi streams included,
// passes byte for byte to a healthy router from the registry, tried on another router when the
// first could not take it (connect failure, refused stream, GOAWAY). Serves its own
// grpc.health.v1. With service tokens configured it refuses calls without a valid one at the
// edge, before any router is asked.
import type { ConnectRouter } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { AgentLink } from "../gen/agentplatform/v1/link_pb";
import { authorizeRawRequest, healthCheckMethods } from "../platform/auth/jwt";
import { type JwtAuthConfig, loadJwtAuthenticator } from "../platform/auth/jwt-config";
import { addressOf, createBalancer } from "../platform/forwarding/balancer";
import { forwardCall } from "../platform/forwarding/forward-call";
import { endWithStatus } from "../platform/forwarding/grpc-status";
import { parseGrpcTimeout } from "../platform/forwarding/grpc-timeout";
import { hopsOf, nextHopHeaders } from "../platform/forwarding/hop-headers";
import { createRetryBudget } from "../platform/forwarding/retry-budget";
import { createUpstreamPool } from "../platform/forwarding/upstream-pool";
import { type RawRequestHandler, startGrpcServer } from "../platform/grpc-server";
import { createHealthStatusTable, ServingStatus } from "../platform/health";
import type { Logger } from "../platform/log";
import { routerServiceName } from "../platform/router-transport";
import { defaultServerLimits, type ServerLimits } from "../platform/server-limits";
import type { TlsFiles } from "../platform/tls";
import type { ConsulClient } from "../registry/consul-client";
import { type ServiceWatchOptions, watchService } from "../registry/service-watch";

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
  const pool = createUpstreamPool({
    logger: log,
    ...(options.routerTls ? { tls: options.routerTls } : {}),
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

  const forward = (
    req: Parameters<RawRequestHandler>[0],
    res: Parameters<RawRequestHandler>[1],
  ) => {
    const startedAt = performance.now();
    const timeoutMs = parseGrpcTimeout(req.headers["grpc-timeout"]);
    if (timeoutMs !== undefined && Number.isNaN(timeoutMs)) {
      endWithStatus(res, Code.InvalidArgument, "malformed grpc-timeout");
      return;
    }
    if (timeoutMs !== undefined && limits.maxTimeoutMs > 0 && timeoutMs > limits.maxTimeoutMs) {
      endWithStatus(
        res,
        Code.InvalidArgument,
        `deadline of ${timeoutMs} ms is longer than the limit of ${limits.maxTimeoutMs} ms`,
      );
      return;
    }
    if (hopsOf(req) >= maxHops) {
      endWithStatus(res, Code.Unavailable, "call passed too many proxies: routing loop suspected");
      return;
    }
    const routers = watch.current().instances;
    budget.call();
    forwardCall({
      res,
      headers: req.headers,
      pool,
      startedAt,
      deadlineAt: timeoutMs === undefined ? undefined : startedAt + timeoutMs,
      extraHeaders: nextHopHeaders(req),
      // Bidi streams (AgentLink) keep sending: replay only what fits before a router answers.
      maxReplayBytes: 256 * 1024,
      pick(tried) {
        const chosen = balancer.pick(service, routers, tried);
        return chosen ? addressOf(chosen) : noRouter();
      },
      // Routers retry backends themselves; here only failures that prove nothing ran.
      mayRetry: (failure) =>
        (failure.kind === "connect" || failure.kind === "refused") && budget.tryRetry(),
      onAttemptStart: (address) => balancer.started(address),
      onAttemptEnd(outcome) {
        const transport = outcome.failure === "connect" || outcome.failure === "reset";
        balancer.finished(service, outcome.address, transport ? "transport" : "ok");
        if (transport) watch.refresh();
      },
    });
  };

  const rawHandler: RawRequestHandler = (req, res) => {
    const path = req.headers[":path"] ?? "";
    if (path.startsWith(healthPathPrefix)) return false;
    const contentType = req.headers["content-type"] ?? "";
    if (
      !contentType.startsWith("application/grpc") ||
      contentType.startsWith("application/grpc-web")
    ) {
      return false;
    }
    if (auth !== undefined && authorizeRawRequest(auth, req, res) === undefined) return true;
    if (!registryAnswered) {
      // First call before the registry answered: wait for it rather than fail.
      req.stream.pause();
      void watch.ready().then(() => forward(req, res));
      return true;
    }
    forward(req, res);
    return true;
  };

  const server = await startGrpcServer({
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
    routes: (router: ConnectRouter) => health.routes(router),
    rawHandler,
    limits,
    ...(options.tls ? { tls: options.tls } : {}),
    logger: log,
  });
  log.info("gRPC front door listening", {
    address: server.address,
    routers: service,
    serviceTokens: auth ? "checked" : "off",
  });

  let closing: Promise<void> | undefined;
  return {
    address: server.address,
    port: server.port,
    routers: () => watch.current().instances.map(addressOf),
    close(graceMs = limits.shutdownGraceMs) {
      closing ??= (async () => {
        health.setAll(ServingStatus.NOT_SERVING);
        await server.close(graceMs);
        watch.stop();
        pool.close();
      })();
      return closing;
    },
  };
}
