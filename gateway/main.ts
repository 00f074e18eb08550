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
import { loadTokenStore } from "./token-store";

const log = createLogger("gateway");

runProcess(log, async () => {
  const env = new EnvReader();
  // 0 picks a free port; -1 turns the listener off.
  const metricsPort = env.int("METRICS_PORT", 0, { min: -1, max: 65535 });
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
    logger: log,
  });
  const metrics =
    metricsPort >= 0
      ? await startMetricsServer({
          host: config.host,
          port: metricsPort,
          render: () => "",
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
