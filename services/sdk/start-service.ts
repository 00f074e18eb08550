// Starts an agent, tool or worker: gRPC server with health and reflection, registry registration,
// metrics, and a graceful drain.
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { AgentService, TaskWorker, ToolService } from "../../gen/agentplatform/v1/platform_pb";
import {
  createBearerTokenInterceptor,
  createJwtInterceptor,
  healthCheckMethods,
} from "../../platform/auth/jwt";
import { loadJwtAuthenticator } from "../../platform/auth/jwt-config";
import { createServiceTokenSource } from "../../platform/auth/service-token";
import { createConsulClient } from "../../platform/consul/consul-client";
import { createDiscoveryFromConfig } from "../../platform/discovery/discovery-config";
import { type GrpcServer, startGrpcServer } from "../../platform/grpc-server";
import {
  createHealthStatusTable,
  type HealthStatusTable,
  ServingStatus,
} from "../../platform/health";
import { createLogger, type Logger } from "../../platform/log";
import { type MetricsServer, startMetricsServer } from "../../platform/metrics-http";
import { createReflectionIndex, reflectionRoutes } from "../../platform/reflection";
import { type Registration, registerInstance } from "../../platform/registration";
import { agentRoutes } from "./agent-routes";
import { callLogInterceptor } from "./call-log";
import { clientId, registryName, type ServiceDefinition, versionOf } from "./definitions";
import { createLazyPlatformClient, type PlatformClient } from "./platform-client";
import { defaultServiceConfig, type ServiceConfigInput } from "./service-config";
import { createServiceMetrics } from "./service-metrics";
import type { ServiceRuntime } from "./service-runtime";
import { toolRoutes } from "./tool-routes";
import { createJobRunner, type JobRunner, type JobRunnerOptions } from "./worker/job-runner";
import { openWorkerTaskStore } from "./worker/open-task-store";
import type { TaskStore } from "./worker/task-store";
import { workerRoutes } from "./worker/worker-routes";

export interface StartServiceOptions extends Omit<ServiceConfigInput, "jobs"> {
  /** Default: a logger named after the registry name. */
  logger?: Logger;
  /** Clients handlers use to call the platform. Default: through the routers in the registry. */
  platform?: PlatformClient;
  /** Pause between leaving the registry and refusing new calls, so routers notice first. Default 500 ms. */
  drainDelayMs?: number;
  /** Worker tuning (lease, scan interval, concurrency); ignored for agents and tools. */
  jobs?: Partial<Omit<JobRunnerOptions, "worker" | "store" | "logger" | "platform">>;
}

export interface RunningService {
  /** host:port the server listens on. */
  readonly address: string;
  readonly port: number;
  /** e.g. "agent-echo" */
  readonly registryName: string;
  /** e.g. "echo-agent" */
  readonly clientId: string;
  readonly instanceId: string;
  readonly health: HealthStatusTable;
  /** http://host:port of /metrics, when metrics are on. */
  readonly metricsUrl: string | undefined;
  /** Resolves once the registry has accepted the registration (never when registration is off). */
  registered(): Promise<Registration>;
  /**
   * Drains: reports NOT_SERVING, leaves the registry, lets in-flight calls finish for up to
   * graceMs (default GRPC_SHUTDOWN_GRACE_MS), then closes. Workers release unfinished jobs so
   * another instance, or this one restarted, resumes them.
   */
  stop(graceMs?: number): Promise<void>;
}

const serviceOf: Record<ServiceDefinition["kind"], DescService> = {
  agent: AgentService,
  tool: ToolService,
  worker: TaskWorker,
};

export async function startService(
  definition: ServiceDefinition,
  options: StartServiceOptions = {},
): Promise<RunningService> {
  const config = defaultServiceConfig(options);
  const name = registryName(definition);
  const id = clientId(definition);
  const log = options.logger ?? createLogger(name);
  const consul = createConsulClient({ address: config.consulAddress });
  // Registry checks call Health without a token, whatever JWT_PUBLIC_METHODS lists.
  const auth =
    config.auth &&
    loadJwtAuthenticator({
      ...config.auth,
      publicMethods: [...new Set([...config.auth.publicMethods, healthCheckMethods])],
    });
  const serviceToken = config.serviceToken && createServiceTokenSource(config.serviceToken);
  const routerDiscovery = config.routerDiscovery;
  const lazyPlatform = createLazyPlatformClient({
    consul,
    ...(config.tls ? { tls: config.tls } : {}),
    maxMessageBytes: config.limits.maxMessageBytes,
    ...(serviceToken ? { interceptors: [createBearerTokenInterceptor(serviceToken)] } : {}),
    ...(routerDiscovery
      ? { discovery: () => createDiscoveryFromConfig(routerDiscovery, consul) }
      : {}),
  });
  const platform = () => options.platform ?? lazyPlatform.get();
  const service = serviceOf[definition.kind];
  const health = createHealthStatusTable([service.typeName]);
  let draining = false;
  let server: GrpcServer | undefined;
  const runtime: ServiceRuntime = {
    logger: log,
    platform,
    endpoint: () => `${config.advertiseAddress}:${server?.port ?? config.port}`,
    startedAtMs: Date.now(),
    draining: () => draining,
    active: { count: 0 },
  };

  // A worker's runner needs the instance id, known once the server listens (port 0 in tests).
  let runner: JobRunner | undefined;
  const routes: (router: ConnectRouter) => void =
    definition.kind === "agent"
      ? agentRoutes(definition, runtime)
      : definition.kind === "tool"
        ? toolRoutes(definition, runtime)
        : workerRoutes(definition, () => runner, runtime);

  const metrics = createServiceMetrics({ service: name }, (out) => {
    out.family("service_active_tasks", "gauge", "Tasks or jobs running in this instance.");
    out.sample("service_active_tasks", undefined, runner ? runner.running() : runtime.active.count);
  });
  const reflection = createReflectionIndex([service]);
  // The task store first: a database that cannot be used fails the start before anything listens.
  const store: TaskStore | undefined =
    definition.kind === "worker"
      ? await openWorkerTaskStore({
          databaseUrl: config.databaseUrl,
          dataDir: config.dataDir ?? join(".data", definition.name),
          worker: id,
          logger: log,
        })
      : undefined;
  server = await startGrpcServer({
    host: config.host,
    port: config.port,
    routes: (router) => {
      health.routes(router);
      reflectionRoutes(reflection)(router);
      routes(router);
    },
    // Refusals are counted and logged like any other answer.
    interceptors: [
      metrics.interceptor,
      callLogInterceptor(log),
      ...(auth ? [createJwtInterceptor(auth)] : []),
    ],
    limits: config.limits,
    ...(config.tls ? { tls: config.tls } : {}),
    logger: log,
  });
  const grpc = server;
  const instanceId = config.instanceId ?? `${name}-${config.advertiseAddress}-${grpc.port}`;

  if (definition.kind === "worker" && store) {
    runner = createJobRunner({
      ...config.jobs,
      ...options.jobs,
      worker: definition,
      store,
      instanceId,
      logger: log,
      platform,
    });
    await runner.start();
  }

  let metricsServer: MetricsServer | undefined;
  if (config.metricsPort >= 0) {
    metricsServer = await startMetricsServer({
      host: config.host,
      port: config.metricsPort,
      render: metrics.render,
      healthy: () => !draining,
      logger: log,
    });
  }

  const registrationAbort = new AbortController();
  const registration: Promise<Registration> = config.register
    ? registerInstance(
        consul,
        {
          name,
          id: instanceId,
          tags: [definition.kind],
          meta: {
            name: definition.name,
            client_id: id,
            description: definition.description,
            capabilities: (definition.kind === "tool"
              ? definition.operations
              : definition.capabilities
            ).join(","),
            version: versionOf(definition),
            ...(metricsServer ? { metrics_port: String(metricsServer.port) } : {}),
          },
          address: config.advertiseAddress,
          port: grpc.port,
          check: "grpc",
          tls: grpc.tls,
        },
        log,
        { signal: registrationAbort.signal },
      )
    : new Promise<Registration>(() => {});
  registration.catch((err: unknown) => log.debug("registration abandoned", { err }));
  log.info("serving", {
    service: name,
    address: grpc.address,
    tls: grpc.tls,
    metrics: metricsServer?.url,
  });

  let stopping: Promise<void> | undefined;
  return {
    address: grpc.address,
    port: grpc.port,
    registryName: name,
    clientId: id,
    instanceId,
    health,
    metricsUrl: metricsServer?.url,
    registered: () => registration,
    stop(graceMs = config.limits.shutdownGraceMs) {
      stopping ??= (async () => {
        draining = true;
        health.setAll(ServingStatus.NOT_SERVING);
        log.info("draining", { active: grpc.activeStreams(), grace_ms: graceMs });
        registrationAbort.abort();
        if (config.register) {
          await Promise.race([
            registration.then((r) => r.deregister()),
            new Promise((r) => setTimeout(r, 2000).unref()),
          ]).catch(() => {});
        }
        await new Promise((r) => setTimeout(r, options.drainDelayMs ?? 500));
        await Promise.all([grpc.close(graceMs), runner?.stop(graceMs)]);
        await store?.close();
        await metricsServer?.close();
        metrics.close();
        lazyPlatform.close();
        log.info("stopped");
      })();
      return stopping;
    },
  };
}
