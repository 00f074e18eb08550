// The gateway process: reads GATEWAY_* (and the shared GRPC_*, CONSUL_HTTP_ADDR) and runs the gateway.
import { EnvReader } from "../platform/config";
import { createConsulClient } from "../platform/consul/consul-client";
import { createDiscoveryFromConfig } from "../platform/discovery/discovery-config";
import { createLogger } from "../platform/log";
import { runProcess } from "../platform/process";
import { loadTlsFiles } from "../platform/tls";
import { startGateway } from "./gateway";
import { readGatewayConfig } from "./gateway-config";
import { loadTokenStore } from "./token-store";

const log = createLogger("gateway");

runProcess(log, async () => {
  const env = new EnvReader();
  const config = readGatewayConfig(env);
  const tokens = loadTokenStore({
    ...(config.tokensFile ? { file: config.tokensFile } : {}),
    ...(config.tokens ? { variable: config.tokens } : {}),
  });
  const tls = loadTlsFiles(config.tls);
  const consul = createConsulClient({ address: config.consulAddress });
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
    emptyRegistryGraceMs: config.emptyRegistryGraceMs,
    ...(tls ? { tls } : {}),
    ...(config.upstreamToken ? { upstreamToken: config.upstreamToken } : {}),
    ...(config.frontDoorAuth ? { frontDoorAuth: config.frontDoorAuth } : {}),
    ...(config.routerDiscovery
      ? { routerDiscovery: createDiscoveryFromConfig(config.routerDiscovery, consul) }
      : {}),
    logger: log,
  });
  return { stop: () => gateway.close() };
});
