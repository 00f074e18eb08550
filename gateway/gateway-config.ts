// The gateway's settings from the environment, read once at start.

import { type JwtAuthConfig, readJwtConfig } from "../platform/auth/jwt-config";
import { EnvReader } from "../platform/config";
import { defaultEmptyGraceMs } from "../platform/consul/service-watch";
import {
  type DiscoveryConfig,
  readOptionalDiscoveryConfig,
} from "../platform/discovery/discovery-config";
import { readServerLimits, type ServerLimits } from "../platform/server-limits";
import { readTlsConfig, type TlsConfig } from "../platform/tls";

export interface GatewayLimits {
  /** Requests in progress at once from one client IP on the browser endpoint. Default 64 (GATEWAY_MAX_STREAMS_PER_IP). */
  maxStreamsPerIp: number;
  /** Runs (Invoke and platform calls) a second per token, or per IP without one. Default 10 (GATEWAY_RUN_RATE). */
  runsPerSecond: number;
  /** Runs a caller may make in a burst above the rate. Default 30 (GATEWAY_RUN_BURST). */
  runBurst: number;
  /** Deadline for Invoke calls that ask for none, in ms. Default 30 s (GATEWAY_INVOKE_TIMEOUT_MS). */
  invokeTimeoutMs: number;
  /** How long ListRouters and WatchMetrics wait for one router's answer, in ms. Default 1500 (GATEWAY_ROUTER_ADMIN_TIMEOUT_MS). */
  routerAdminTimeoutMs: number;
}

export const defaultGatewayLimits: GatewayLimits = {
  maxStreamsPerIp: 64,
  runsPerSecond: 10,
  runBurst: 30,
  invokeTimeoutMs: 30_000,
  routerAdminTimeoutMs: 1500,
};

export interface GatewayConfig {
  host: string;
  grpcPort: number;
  httpPort: number;
  corsOrigins: string[];
  tokensFile?: string;
  tokens?: string;
  auditLogPath: string;
  /** Bearer token the gateway presents to the routers when they require one. */
  upstreamToken?: string;
  /** Service tokens (JWT_*) the gRPC front door checks; set when a key is configured. */
  frontDoorAuth?: JwtAuthConfig;
  consulAddress: string;
  /** How GetSession names the registry; default: asked of the registry ("embedded 127.0.0.1:8500"). */
  registryLabel?: string;
  limits: ServerLimits;
  gatewayLimits: GatewayLimits;
  tls: TlsConfig;
  /** Where the browser endpoint finds the routers (GRPC_DISCOVERY_ORDER, GRPC_STATIC_ENDPOINTS, ...); default the registry. */
  routerDiscovery?: DiscoveryConfig;
  /**
   * How long an empty list of routers right after a registry outage or restart is disbelieved
   * (REGISTRY_EMPTY_GRACE_MS, default 30 s): the last known routers keep serving meanwhile.
   */
  emptyRegistryGraceMs: number;
}

export const defaultCorsOrigins = ["http://localhost:3000", "http://127.0.0.1:3000"];

export function readGatewayConfig(env: EnvReader = new EnvReader()): GatewayConfig {
  const consulAddress = env.string("CONSUL_HTTP_ADDR", "127.0.0.1:8500");
  const d = defaultGatewayLimits;
  const tokensFile = env.optionalString("GATEWAY_TOKENS_FILE");
  const tokens = env.optionalString("GATEWAY_TOKENS");
  const registryLabel = env.optionalString("GATEWAY_REGISTRY_LABEL");
  const upstreamToken = env.optionalString("GATEWAY_UPSTREAM_TOKEN");
  const frontDoorAuth = readJwtConfig(env);
  const corsOrigins = env.list("GATEWAY_CORS_ORIGINS", defaultCorsOrigins);
  for (const origin of corsOrigins) {
    if (origin === "*") {
      env.invalid(
        'GATEWAY_CORS_ORIGINS must list origins; "*" would let any site use the console API',
      );
    } else if (!/^https?:\/\/[^/]+$/.test(origin)) {
      env.invalid(
        `GATEWAY_CORS_ORIGINS entries must be origins such as http://localhost:3000 (scheme, host, optional port, no path), got "${origin}"`,
      );
    }
  }
  const config: GatewayConfig = {
    host: env.string("GATEWAY_HOST", "127.0.0.1"),
    grpcPort: env.port("GATEWAY_GRPC_PORT", 50051),
    httpPort: env.port("GATEWAY_HTTP_PORT", 8080),
    corsOrigins,
    ...(tokensFile ? { tokensFile } : {}),
    ...(tokens ? { tokens } : {}),
    auditLogPath: env.string("GATEWAY_AUDIT_LOG", ".data/audit.log"),
    ...(upstreamToken ? { upstreamToken } : {}),
    ...(frontDoorAuth ? { frontDoorAuth } : {}),
    consulAddress,
    ...(registryLabel ? { registryLabel } : {}),
    limits: readServerLimits(env),
    gatewayLimits: {
      maxStreamsPerIp: env.int("GATEWAY_MAX_STREAMS_PER_IP", d.maxStreamsPerIp, { min: 1 }),
      runsPerSecond: env.int("GATEWAY_RUN_RATE", d.runsPerSecond, { min: 1 }),
      runBurst: env.int("GATEWAY_RUN_BURST", d.runBurst, { min: 1 }),
      invokeTimeoutMs: env.durationMs("GATEWAY_INVOKE_TIMEOUT_MS", d.invokeTimeoutMs),
      routerAdminTimeoutMs: env.durationMs(
        "GATEWAY_ROUTER_ADMIN_TIMEOUT_MS",
        d.routerAdminTimeoutMs,
      ),
    },
    tls: readTlsConfig(env),
    emptyRegistryGraceMs: env.durationMs("REGISTRY_EMPTY_GRACE_MS", defaultEmptyGraceMs),
  };
  const routerDiscovery = readOptionalDiscoveryConfig(env);
  if (routerDiscovery) config.routerDiscovery = routerDiscovery;
  env.done("gateway");
  return config;
}
