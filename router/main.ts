// Router process: reads the environment, starts the router and its /metrics listener, drains on SIGTERM.
import { existsSync } from "node:fs";
import { readAdvertiseAddress } from "../platform/advertise-address";
import { readJwtConfig } from "../platform/auth/jwt-config";
import { EnvReader } from "../platform/config";
import { createConsulClient } from "../platform/consul/consul-client";
import { defaultEmptyGraceMs } from "../platform/consul/service-watch";
import { balancerKinds } from "../platform/forwarding/balancer";
import { createLogger } from "../platform/log";
import { startMetricsServer } from "../platform/metrics-http";
import { runProcess } from "../platform/process";
import { readServerLimits } from "../platform/server-limits";
import { loadTlsFiles, readTlsConfig } from "../platform/tls";
import { startTracing } from "../platform/tracing";
import { readAgentLinkConfig } from "./agent-link/agent-link-config";
import { linkedAgentsFactory } from "./agent-link/linked-agents-hub";
import { startRouter } from "./router";

const log = createLogger("router");

runProcess(log, async () => {
  const env = new EnvReader();
  const host = env.string("GRPC_SERVER_HOST", "127.0.0.1");
  const port = env.port("GRPC_SERVER_PORT", 0);
  const advertiseAddress = readAdvertiseAddress(env, "ROUTER_ADVERTISE_ADDRESS", host);
  const consulAddress = env.string("CONSUL_HTTP_ADDR", "127.0.0.1:8500");
  const routerId = env.optionalString("ROUTER_ID");
  const cacheTtlMs = env.durationMs("ROUTER_CACHE_TTL_MS", 60_000);
  const emptyGraceMs = env.durationMs("REGISTRY_EMPTY_GRACE_MS", defaultEmptyGraceMs);
  const balancer = env.oneOf("ROUTER_BALANCER", balancerKinds, "p2c");
  const maxEjectionPercent = env.int("ROUTER_MAX_EJECTION_PERCENT", 50, { min: 0, max: 100 });
  const overloadControl = env.bool("ROUTER_OVERLOAD_CONTROL", true);
  const admission = {
    maxInFlight: env.int("ROUTER_MAX_INFLIGHT_PER_INSTANCE", 1024, { min: 1 }),
    maxQueue: env.int("ROUTER_MAX_QUEUED_PER_SERVICE", 1024, { min: 0 }),
    initialLimit: env.int("ROUTER_INITIAL_LIMIT_PER_INSTANCE", 8, { min: 1 }),
    minLimit: env.int("ROUTER_MIN_LIMIT_PER_INSTANCE", 8, { min: 1 }),
  };
  const upstreamPing = {
    intervalMs: env.durationMs("ROUTER_UPSTREAM_PING_INTERVAL_MS", 1000),
    timeoutMs: env.durationMs("ROUTER_UPSTREAM_PING_TIMEOUT_MS", 1000),
  };
  // 0 picks a free port; -1 turns the listener off.
  const metricsPort = env.int("METRICS_PORT", 0, { min: -1, max: 65535 });
  const upstreamTlsEnabled = env.bool("ROUTER_UPSTREAM_TLS", false);
  const explicitTokens = env.optionalString("AGENT_LINK_TOKENS_FILE");
  const agentLink = readAgentLinkConfig(env);
  const limits = readServerLimits(env);
  const auth = readJwtConfig(env);
  const tlsConfig = readTlsConfig(env);
  if (upstreamTlsEnabled && !tlsConfig.enabled) {
    env.invalid("ROUTER_UPSTREAM_TLS=true needs GRPC_TLS_ENABLED and its certificate files");
  }
  env.done("router");
  const tls = loadTlsFiles(tlsConfig);

  // Dial-in agents are accepted once there is a token file to check them against.
  const tokensPath = "path" in agentLink.tokens ? agentLink.tokens.path : "";
  const dialIn = explicitTokens !== undefined || existsSync(tokensPath);

  // The relay passes spans explicitly; no async context is needed (or paid for) here.
  const tracing = await startTracing("router", { asyncContext: false });
  const router = await startRouter({
    consul: createConsulClient({ address: consulAddress }),
    host,
    port,
    advertiseAddress,
    ...(routerId ? { routerId } : {}),
    version: process.env.npm_package_version ?? "0.0.0",
    cacheTtlMs,
    watch: { emptyGraceMs },
    balancer,
    maxEjectionPercent,
    upstreamPing,
    admission: overloadControl ? admission : false,
    limits,
    ...(tls ? { tls } : {}),
    ...(tls && upstreamTlsEnabled ? { upstreamTls: tls } : {}),
    ...(dialIn ? { linkedAgents: linkedAgentsFactory(agentLink) } : {}),
    ...(auth ? { auth } : {}),
    logger: log,
  });
  if (auth)
    log.info("service tokens checked", { required: auth.required, rules: auth.rules.length });
  if (!dialIn) log.info("dial-in agents off: no token file", { path: tokensPath });

  const metrics =
    metricsPort >= 0
      ? await startMetricsServer({
          host,
          port: metricsPort,
          render: () => router.metrics.renderPrometheus(),
          logger: log,
        })
      : undefined;
  if (metrics) log.info("metrics listening", { url: `${metrics.url}/metrics` });

  return {
    async stop() {
      await router.close();
      await metrics?.close();
      await tracing.stop();
    },
  };
});
