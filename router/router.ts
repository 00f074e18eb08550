// A router: one gRPC server that forwards agent, tool and worker calls to healthy instances
// found in the registry, answers listings, status and RouterAdmin itself, holds dial-in agent
// links, registers itself as "grpc-router" and drains gracefully.
import { hostname } from "node:os";
import type { ConnectRouter } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { AgentLink } from "../gen/agentplatform/v1/link_pb";
import { AgentService, TaskWorker, ToolService } from "../gen/agentplatform/v1/platform_pb";
import { RouterAdmin } from "../gen/agentplatform/v1/router_admin_pb";
import { Health } from "../gen/grpc/health/v1/health_pb";
import { advertiseAddressFor } from "../platform/advertise-address";
import { createJwtInterceptor, healthCheckMethods } from "../platform/auth/jwt";
import { type JwtAuthConfig, loadJwtAuthenticator } from "../platform/auth/jwt-config";
import type { ConsulClient } from "../platform/consul/consul-client";
import type { ServiceWatchOptions } from "../platform/consul/service-watch";
import { addressOf, type BalancerKind, createBalancer } from "../platform/forwarding/balancer";
import { createRetryBudget } from "../platform/forwarding/retry-budget";
import { type RelayFront, startRelayFront } from "../platform/h2/relay-front";
import { createHealthStatusTable, ServingStatus } from "../platform/health";
import { joinHostPort } from "../platform/listen";
import type { Logger } from "../platform/log";
import { createReflectionIndex, reflectionRoutes } from "../platform/reflection";
import { type Registration, registerInstance } from "../platform/registration";
import { routerServiceName } from "../platform/router-transport";
import { defaultServerLimits, type ServerLimits } from "../platform/server-limits";
import type { TlsFiles } from "../platform/tls";
import {
  type CachedServiceView,
  createRouterAdminService,
  type ResolveAnswer,
} from "./admin-service";
import { type Admission, type AdmissionOptions, createAdmission } from "./admission";
import type { LinkedAgents } from "./agent-link/linked-agents";
import { createCatalogService } from "./catalog-service";
import { createEndpointDirectory } from "./endpoint-directory";
import { createLinkedStreamHandler } from "./linked-stream-handler";
import { createRouterMetrics, type RouterMetrics } from "./metrics/router-metrics";
import { kindOf, type ServiceKind, serviceNameFor } from "./routed-methods";
import { createRoutedCallTaker } from "./routed-relay";
import { Routing, type RoutingDeps } from "./routing";

/** What a dial-in link factory learns about the router that will hold its links. */
export interface RouterSelf {
  routerId: string;
  /** host:port the router is registered at; known once the server listens. */
  address(): string;
  consul: ConsulClient;
  logger: Logger;
}

export interface RouterOptions {
  consul: ConsulClient;
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 0. */
  port?: number;
  /**
   * Address registered for others to dial. Default: the bound host; for 0.0.0.0 or ::, this
   * host's first non-internal IPv4 address (no such address: startRouter throws).
   */
  advertiseAddress?: string;
  /** Default: grpc-router-<hostname>-<port>. */
  routerId?: string;
  /** Reported in status and RouterAdmin. Default "0.0.0". */
  version?: string;
  /** A registry view older than this is reported stale and asked for again. Default 60000 ms. */
  cacheTtlMs?: number;
  /** Default "p2c". */
  balancer?: BalancerKind;
  /** Consecutive failures that take an instance out of rotation. Default 5. */
  failuresToEject?: number;
  /** Most of a service's instances out of rotation at once, in percent. Default 50. */
  maxEjectionPercent?: number;
  /**
   * PING interval on a backend connection with calls outstanding, and how long its answer may
   * take before the backend is taken out of rotation. Default 1000 and 1000 ms.
   */
  upstreamPing?: { intervalMs: number; timeoutMs: number };
  /**
   * Overload control (router/admission.ts): adaptive concurrency limit per instance under a
   * circuit breaker, a FIFO queue per service, early refusal of calls that cannot start before
   * their deadlines. Default on, with AdmissionOptions' defaults; false turns it off.
   */
  admission?: AdmissionOptions | false;
  limits?: Partial<ServerLimits>;
  /** Server certificate; with a CA, callers must present certificates (mTLS). */
  tls?: TlsFiles;
  /** Client certificate and CA for backends that require TLS. Default: h2c to backends. */
  upstreamTls?: TlsFiles;
  /**
   * Service tokens (JWT_*): forwarded calls and the router's own methods need one; health checks
   * and AgentLink.Connect (dial-in agents bring tokens of their own) never do. Default: off.
   */
  auth?: JwtAuthConfig;
  /** Dial-in agent links, or a factory for them given the router's identity. */
  linkedAgents?: LinkedAgents | ((self: RouterSelf) => LinkedAgents);
  /** Call recorder and statistics. Default: a new one. */
  metrics?: RouterMetrics;
  /** Register in the registry as "grpc-router". Default true. */
  register?: boolean;
  /** Registry health-check interval. Default 2000 ms. */
  checkIntervalMs?: number;
  /** Tuning of the per-service registry watches (tests shorten back-off). */
  watch?: ServiceWatchOptions;
  logger: Logger;
}

export interface Router {
  readonly routerId: string;
  /** host:port as registered. */
  readonly address: string;
  readonly port: number;
  readonly metrics: RouterMetrics;
  /** Drains: NOT_SERVING, deregister, GOAWAY, in-flight calls finish within graceMs. */
  close(graceMs?: number): Promise<void>;
}

/** Dial-in agents authenticate this with their own per-agent tokens (AGENT_LINK_TOKENS_FILE). */
const agentLinkConnect = `/${AgentLink.typeName}/${AgentLink.method.connect.name}`;

const servedServices = [
  "agentplatform.v1.AgentService",
  "agentplatform.v1.ToolService",
  "agentplatform.v1.TaskWorker",
  "agentplatform.v1.RouterAdmin",
];

export async function startRouter(options: RouterOptions): Promise<Router> {
  const log = options.logger;
  const limits: ServerLimits = { ...defaultServerLimits, ...options.limits };
  const host = options.host ?? "127.0.0.1";
  const version = options.version ?? "0.0.0";
  const balancerKind = options.balancer ?? "p2c";
  const startedAtMs = Date.now();
  // Worked out before listening, so a router with nothing to register fails before it serves.
  const advertised =
    options.advertiseAddress ?? advertiseAddressFor(host, "ROUTER_ADVERTISE_ADDRESS");
  const auth =
    options.auth && loadJwtAuthenticator(options.auth, [healthCheckMethods, agentLinkConnect]);
  let routerId = options.routerId ?? "";
  let address = "";
  let draining = false;
  const shutdown = new AbortController();

  let admission: Admission | undefined;
  const metrics =
    options.metrics ??
    createRouterMetrics({
      dialInLinks: () => linkCount(),
      admission: () => admission?.state() ?? { queued: [], limits: [] },
    });
  const directory = createEndpointDirectory({
    consul: options.consul,
    ...(options.cacheTtlMs !== undefined ? { cacheTtlMs: options.cacheTtlMs } : {}),
    ...(options.watch ? { watch: options.watch } : {}),
    onAnswer: (service) => metrics.registryAnswered(service),
    onForget: (service) => metrics.registryForgotten(service),
    onHeld: (service, sinceMs) => metrics.registryHeld(service, sinceMs),
  });
  const balancer = createBalancer({
    kind: balancerKind,
    ...(options.failuresToEject !== undefined ? { failuresToEject: options.failuresToEject } : {}),
    ...(options.maxEjectionPercent !== undefined
      ? { maxEjectionPercent: options.maxEjectionPercent }
      : {}),
    onEject(service, backend, forMs) {
      log.warn("instance taken out of rotation", { service, backend, forMs });
      metrics.ejected(service, backend);
    },
    onReadmit(service, backend) {
      log.info("instance back in rotation", { service, backend });
      metrics.readmitted(service, backend);
    },
  });

  const health = createHealthStatusTable(servedServices);
  admission =
    options.admission === false
      ? undefined
      : createAdmission({
          ...options.admission,
          onRefused: (service, waitedMs) => metrics.overloadRefused(service, waitedMs),
        });

  const self: RouterSelf = {
    get routerId() {
      return routerId;
    },
    address: () => address,
    consul: options.consul,
    logger: log.child({ component: "agent-link" }),
  };
  const linked =
    typeof options.linkedAgents === "function" ? options.linkedAgents(self) : options.linkedAgents;
  const linkCount = () => linked?.linkCount() ?? 0;

  const routing = new Routing({
    directory,
    balancer,
    budget: createRetryBudget(),
    get routerId() {
      return routerId;
    },
    selfAddress: () => address,
    linkedAgents: linked,
    recorder: metrics,
    ...(admission ? { admission } : {}),
    maxMessageBytes: limits.maxMessageBytes,
    maxTimeoutMs: limits.maxTimeoutMs,
    ...(auth ? { auth } : {}),
    logger: log,
  } satisfies RoutingDeps);

  const cachedServices = (): CachedServiceView[] =>
    directory.watched().map((view) => ({
      service: view.service,
      endpoints: view.instances.map((i) => {
        const state = balancer.state(addressOf(i));
        return {
          instanceId: i.id,
          address: i.address,
          port: i.port,
          ejected: balancer.isEjected(addressOf(i)),
          inFlight: state?.inFlight ?? 0,
        };
      }),
      index: BigInt(view.index),
      refreshedAtMs: BigInt(view.refreshedAt),
      stale: view.stale,
    }));

  const resolveTarget = async (target: string, kind: string): Promise<ResolveAnswer> => {
    let services: string[];
    if (kind === "agent" || kind === "tool" || kind === "worker") {
      services = [serviceNameFor(target, kind)];
    } else {
      const inferred = kindOf(target);
      services = inferred
        ? [serviceNameFor(target, inferred)]
        : (["agent", "tool", "worker"] as ServiceKind[]).map((k) => serviceNameFor(target, k));
    }
    let service: string | undefined;
    for (const candidate of services) {
      if (await directory.isRegistered(candidate)) {
        service = candidate;
        break;
      }
    }
    if (service === undefined) {
      throw new ConnectError(
        `unknown target "${target}": no registry service ${services.map((s) => `"${s}"`).join(" or ")}`,
        Code.NotFound,
      );
    }
    const view = await directory.view(service);
    const endpoint = (i: (typeof view.instances)[number]) => ({
      instanceId: i.id,
      address: i.address,
      port: i.port,
      ejected: balancer.isEjected(addressOf(i)),
      inFlight: balancer.state(addressOf(i))?.inFlight ?? 0,
    });
    const local = linked?.hasLocal(service) ?? false;
    const eligible = view.instances.filter(
      (i) => local || (addressOf(i) !== address && i.meta.router_id !== routerId),
    );
    const chosen = balancer.pick(service, eligible, []);
    return {
      target,
      service,
      endpoints: view.instances.map(endpoint),
      ...(chosen ? { chosen: endpoint(chosen) } : {}),
      balancer: balancerKind,
      stale: view.stale,
      reason: local
        ? "served by a dial-in agent linked to this router"
        : chosen
          ? ""
          : view.instances.length === 0
            ? `no healthy instance of "${service}"`
            : `"${service}" is registered only at this router, with no link held here`,
    };
  };

  // Reflection describes every service reachable here, forwarded ones included, so grpcurl and
  // grpcui work against a router or the front door without .proto files.
  const reflection = reflectionRoutes(
    createReflectionIndex([AgentService, ToolService, TaskWorker, RouterAdmin, AgentLink, Health]),
  );
  const routes = (router: ConnectRouter) => {
    health.routes(router);
    reflection(router);
    createCatalogService({
      consul: options.consul,
      directory,
      get routerId() {
        return routerId;
      },
      version,
      startedAtMs,
      address: () => address,
      balancer: balancerKind,
      draining: () => draining,
      activeCalls: () => front?.activeStreams() ?? 0,
      linkCount,
    })(router);
    createRouterAdminService({
      identity: () => ({ routerId, address, version, startedAtMs, draining }),
      metrics,
      cachedServices,
      registryReachable: () => directory.registryReachable(),
      resolve: resolveTarget,
      shutdown: shutdown.signal,
    })(router);
    linked?.routes(router);
  };

  // Routed calls are relayed frame by frame; the rest goes to the Connect routes behind.
  let front: RelayFront | undefined;
  front = await startRelayFront({
    host,
    port: options.port ?? 0,
    limits,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.upstreamTls ? { upstreamTls: options.upstreamTls } : {}),
    upstream: {
      ...(options.upstreamPing
        ? {
            activePingIntervalMs: options.upstreamPing.intervalMs,
            activePingTimeoutMs: options.upstreamPing.timeoutMs,
          }
        : {}),
      onUnresponsive: (backend) => balancer.unresponsive(backend),
    },
    internal: {
      routes,
      ...(linked ? { streamHandler: createLinkedStreamHandler(routing, linked) } : {}),
      ...(auth ? { interceptors: [createJwtInterceptor(auth)] } : {}),
    },
    take: (targets) => createRoutedCallTaker(routing, targets),
    logger: log,
  });
  const started = front;
  address = joinHostPort(advertised, started.port);
  routerId ||= `${routerServiceName}-${hostname()}-${started.port}`;
  log.info("router listening", { routerId, address, balancer: balancerKind });

  let registration: Registration | undefined;
  if (options.register ?? true) {
    registration = await registerInstance(
      options.consul,
      {
        name: routerServiceName,
        id: routerId,
        tags: ["router", "grpc"],
        meta: { router_id: routerId, version, balancer: balancerKind },
        address: advertised,
        port: started.port,
        check: "grpc",
        tls: options.tls !== undefined,
        ...(options.checkIntervalMs !== undefined
          ? { checkIntervalMs: options.checkIntervalMs }
          : {}),
      },
      log,
      { signal: shutdown.signal },
    );
  }

  let closing: Promise<void> | undefined;
  return {
    routerId,
    address,
    port: started.port,
    metrics,
    close(graceMs = limits.shutdownGraceMs) {
      closing ??= (async () => {
        draining = true;
        health.setAll(ServingStatus.NOT_SERVING);
        log.info("draining", { routerId, inFlight: started.activeStreams() });
        await registration?.deregister();
        shutdown.abort();
        await linked?.close();
        await started.close(graceMs);
        directory.close();
        admission?.close();
        metrics.close();
        log.info("stopped", { routerId });
      })();
      return closing;
    },
  };
}
