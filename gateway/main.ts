// The gateway process: reads GATEWAY_* (and the shared GRPC_*, CONSUL_HTTP_ADDR) and runs the gateway.
import { EnvReader } from "../platform/config";
import { createDiscoveryFromConfig } from "../platform/discovery/discovery-config";
import { createLogger } from "../platform/log";
import { startMetricsServer } from "../platform/metrics-http";
import { runProcess } from "../platform/process";
import { loadTlsFiles } from "../platform/tls";
import { startTracing } from "../platform/tracing";
import { createConsulClient } from "../registry/consul-client";
import { startGateway } from "./gateway";
import { readGatewayConfig } from "./gateway-config";
import { otlpIngestHandler } from "./run-traces";
import { loadTokenStore } from "./token-store";

const log = createLogger("gateway");

runProcess(log, async () => {
  const env = new EnvReader();
  // 0 picks a free port; -1 turns the listener off.
  // GATEWAY_METRICS_PORT: a fixed port for the gateway alone when processes share METRICS_PORT.
  const metricsPort = env.int(
    "GATEWAY_METRICS_PORT",
    env.int("METRICS_PORT", 0, { min: -1, max: 65535 }),
    { min: -1, max: 65535 },
  );
  const traceUiUrl = env.optionalString("GATEWAY_TRACE_UI_URL");
  const config = readGatewayConfig(env);
  const tokens = loadTokenStore({
    ...(config.tokensFile ? { file: config.tokensFile } : {}),
    ...(config.tokens ? { variable: config.tokens } : {}),
  });
  const tls = loadTlsFiles(config.tls);
  const consul = createConsulClient({ address: config.consulAddress });
  const tracing = await startTracing("gateway");
  const gateway = await startGateway({
    host: config.host,
    httpPort: config.httpPort,
    grpcPort: config.grpcPort,
    consul,
    corsOrigins: config.corsOrigins,
    tokens,
    auditLogPath: config.auditLogPath,
    ...(config.registryLabel ? { registryLabel: config.registryLabel } : {}),
    limits: config.limits,
    gatewayLimits: config.gatewayLimits,
    ...(tls ? { tls } : {}),
    ...(config.upstreamToken ? { upstreamToken: config.upstreamToken } : {}),
    ...(config.frontDoorAuth ? { frontDoorAuth: config.frontDoorAuth } : {}),
    ...(config.routerDiscovery
      ? { routerDiscovery: createDiscoveryFromConfig(config.routerDiscovery, consul) }
      : {}),
    ...(traceUiUrl ? { traceUiUrl } : {}),
    logger: log,
  });
  const metrics =
    metricsPort >= 0
      ? await startMetricsServer({
          host: config.host,
          port: metricsPort,
          render: () => "",
          // Spans of console runs, when the processes export OTLP/JSON here.
          routes: { "/v1/traces": otlpIngestHandler(gateway.runTraces) },
          logger: log,
        })
      : undefined;
  if (metrics) log.info("metrics listening", { url: `${metrics.url}/metrics` });
  return {
    async stop() {
      await gateway.close();
      await metrics?.close();
      await tracing.stop();
    },
  };
});
