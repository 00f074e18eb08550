// A service's configuration, from the environment, validated once at start.

import { advertiseAddressFor, readAdvertiseAddress } from "../../platform/advertise-address";
import { type JwtAuthConfig, readJwtConfig } from "../../platform/auth/jwt-config";
import { readServiceTokenConfig, type ServiceTokenConfig } from "../../platform/auth/service-token";
import { EnvReader } from "../../platform/config";
import {
  type DiscoveryConfig,
  readOptionalDiscoveryConfig,
} from "../../platform/discovery/discovery-config";
import {
  defaultServerLimits,
  readServerLimits,
  type ServerLimits,
} from "../../platform/server-limits";
import { loadTlsFiles, readTlsConfig, type TlsFiles } from "../../platform/tls";
import { databaseUrlProblem } from "./worker/open-task-store";

export interface ServiceConfig {
  /** Address the gRPC server binds (GRPC_SERVER_HOST). Default 127.0.0.1. */
  host: string;
  /** gRPC port (GRPC_SERVER_PORT); 0 picks a free one. Default: the service's own port. */
  port: number;
  /** Message size, keepalive and drain limits (GRPC_MAX_MESSAGE_SIZE, GRPC_KEEPALIVE_*, ...). */
  limits: ServerLimits;
  /** Certificate and key (GRPC_TLS_*); with a CA, callers must present a client certificate. */
  tls: TlsFiles | undefined;
  /** The registry (CONSUL_HTTP_ADDR). Default 127.0.0.1:8500. */
  consulAddress: string;
  /** Register in the registry at start (SERVICE_REGISTER). Default true. */
  register: boolean;
  /**
   * Address the registry hands to routers (SERVICE_ADVERTISE_ADDRESS). Default: the bind host,
   * or this host's first non-internal IPv4 address when binding every interface (0.0.0.0, ::);
   * with no such address the service refuses to start.
   */
  advertiseAddress: string;
  /** Registry instance id (SERVICE_INSTANCE_ID). Default `<registry name>-<host name>-<port>`. */
  instanceId: string | undefined;
  /** Prometheus /metrics port (METRICS_PORT); 0 picks a free one, -1 turns it off. Default 0. */
  metricsPort: number;
  /** Where a worker keeps its tasks (WORKER_DATA_DIR). Default `.data/<name>`. */
  dataDir: string | undefined;
  /**
   * PostgreSQL holding a worker's tasks (DATABASE_URL, postgres://user:password@host/db), shared
   * by every instance on every host. Default: none, tasks stay in files under dataDir.
   */
  databaseUrl: string | undefined;
  /** Worker job tuning (WORKER_LEASE_MS, WORKER_MAX_CONCURRENT_JOBS, WORKER_RETENTION). */
  jobs: { leaseMs?: number; maxConcurrentJobs?: number; retentionMs?: number };
  /**
   * Service tokens callers must present (JWT_SECRET or JWT_PUBLIC_KEY_PATH, JWT_AUDIENCE, ...).
   * Health checks and reflection stay public. Default: off.
   */
  auth: JwtAuthConfig | undefined;
  /** Token sent on calls through the routers (SERVICE_TOKEN, or minted from JWT_SECRET). Default: none. */
  serviceToken: ServiceTokenConfig | undefined;
  /** Where the routers are (GRPC_DISCOVERY_ORDER, GRPC_STATIC_ENDPOINTS, ...). Default: the registry. */
  routerDiscovery: DiscoveryConfig | undefined;
}

/** What startService accepts: everything optional, with the same defaults as the environment. */
export type ServiceConfigInput = Partial<ServiceConfig>;

export function defaultServiceConfig(input: ServiceConfigInput = {}): ServiceConfig {
  const host = input.host ?? "127.0.0.1";
  return {
    host,
    port: input.port ?? 0,
    limits: input.limits ?? defaultServerLimits,
    tls: input.tls,
    consulAddress: input.consulAddress ?? "127.0.0.1:8500",
    register: input.register ?? true,
    advertiseAddress:
      input.advertiseAddress ?? advertiseAddressFor(host, "SERVICE_ADVERTISE_ADDRESS"),
    instanceId: input.instanceId,
    metricsPort: input.metricsPort ?? 0,
    dataDir: input.dataDir,
    databaseUrl: input.databaseUrl,
    jobs: input.jobs ?? {},
    auth: input.auth,
    serviceToken: input.serviceToken,
    routerDiscovery: input.routerDiscovery,
  };
}

/** Reads the environment; throws one ConfigError naming every bad variable. */
export function readServiceConfig(
  component: string,
  defaultPort: number,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ServiceConfig {
  const reader = new EnvReader(env);
  const host = reader.string("GRPC_SERVER_HOST", "127.0.0.1");
  const port = reader.port("GRPC_SERVER_PORT", defaultPort);
  const limits = readServerLimits(reader);
  const tlsConfig = readTlsConfig(reader);
  const consulAddress = reader.string("CONSUL_HTTP_ADDR", "127.0.0.1:8500");
  const register = reader.bool("SERVICE_REGISTER", true);
  const advertiseAddress = readAdvertiseAddress(reader, "SERVICE_ADVERTISE_ADDRESS", host);
  const instanceId = reader.optionalString("SERVICE_INSTANCE_ID");
  const metricsPort = reader.int("METRICS_PORT", 0, { min: -1, max: 65535 });
  const dataDir = reader.optionalString("WORKER_DATA_DIR");
  const databaseUrl = reader.optionalString("DATABASE_URL");
  const urlProblem = databaseUrl && databaseUrlProblem("DATABASE_URL", databaseUrl);
  if (urlProblem) reader.invalid(urlProblem);
  const jobs = {
    leaseMs: reader.durationMs("WORKER_LEASE_MS", 10_000),
    maxConcurrentJobs: reader.int("WORKER_MAX_CONCURRENT_JOBS", 8, { min: 1, max: 1024 }),
    retentionMs: reader.durationMs("WORKER_RETENTION", 7 * 24 * 3_600_000),
  };
  const auth = readJwtConfig(reader);
  const serviceToken = readServiceTokenConfig(reader, component);
  const routerDiscovery = readOptionalDiscoveryConfig(reader);
  reader.done(component);
  return {
    host,
    port,
    limits,
    tls: loadTlsFiles(tlsConfig),
    consulAddress,
    register,
    advertiseAddress,
    instanceId,
    metricsPort,
    dataDir,
    databaseUrl,
    jobs,
    auth,
    serviceToken,
    routerDiscovery,
  };
}
