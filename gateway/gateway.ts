// The gateway: the browser endpoint (Connect, gRPC-Web and gRPC for the console and browsers),
// with auth, CORS, limits and the audit log, plus the gRPC front door when one is supplied.
import { createRequire } from "node:module";
import { isIP } from "node:net";
import { createContextValues, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { JwtAuthConfig } from "../platform/auth/jwt-config";
import { ConfigError } from "../platform/config";
import type { EndpointDiscovery } from "../platform/discovery/endpoint-discovery";
import type { Logger } from "../platform/log";
import { createRouterTransport, type RouterTransport } from "../platform/router-transport";
import { defaultServerLimits, type ServerLimits } from "../platform/server-limits";
import type { TlsFiles } from "../platform/tls";
import { serverTracingInterceptor } from "../platform/tracing";
import type { ConsulClient } from "../registry/consul-client";
import { type AuditLog, createAuditLog } from "./audit-log";
import { createBrowserInterceptors } from "./browser-interceptors";
import { type BrowserServer, startBrowserServer } from "./browser-server";
import { peerKey } from "./caller";
import { consoleServiceRoutes } from "./console-service";
import { createCorsPolicy } from "./cors";
import { type FrontDoor, startFrontDoor } from "./front-door";
import { defaultCorsOrigins, defaultGatewayLimits, type GatewayLimits } from "./gateway-config";
import { createMetricsHistory, type MetricsHistory } from "./metrics-history";
import { platformForwardingRoutes } from "./platform-forwarding";
import { createRegistryView, type RegistryView } from "./registry-view";
import { createRouterFleet } from "./router-fleet";
import { runTraceInterceptor, runTraceRoutes } from "./run-trace-service";
import { createRunTraceStore, type RunTraceStore } from "./run-traces";
import { createTokenStore, type TokenStore } from "./token-store";

export interface GatewayOptions {
  /** Address both listeners bind. Default 127.0.0.1. */
  host?: string;
  /** Browser endpoint port; 0 picks a free one. Default 0. */
  httpPort?: number;
  /** Front door port; 0 picks a free one. Default 0. */
  grpcPort?: number;
  /** Run the gRPC front door (raw pass-through to the routers) beside the browser endpoint. Default true. */
  frontDoor?: boolean;
  consul: ConsulClient;
  /** Origins allowed to call from a browser. Default http://localhost:3000 and http://127.0.0.1:3000. */
  corsOrigins?: string[];
  /** Bearer tokens; none configured means no auth, and loopback only. Default none. */
  tokens?: TokenStore;
  /** JSON-lines audit file. Default: memory only. */
  auditLogPath?: string;
  /** How GetSession names the registry. Default: asked of the registry. */
  registryLabel?: string;
  limits?: Partial<ServerLimits>;
  gatewayLimits?: Partial<GatewayLimits>;
  /** Serves both listeners over TLS and dials routers with this certificate. Default off. */
  tls?: TlsFiles;
  /** Bearer token the gateway presents to the routers (platform JWT). Default none. */
  upstreamToken?: string;
  /** Service tokens (JWT_*) the front door checks on every call before a router sees it. Default off. */
  frontDoorAuth?: JwtAuthConfig;
  /**
   * Where the browser endpoint finds the routers it forwards to (static list, load balancer,
   * DNS). Default: the healthy "grpc-router" instances in the registry.
   */
  routerDiscovery?: EndpointDiscovery;
  /** Blocking-query wait for the registry view. Default "30s". */
  registryWait?: string;
  /** Router stats sampling interval. Default 1000 ms. */
  metricsIntervalMs?: number;
  /** The trace UI's address for links from the Run page (`{trace_id}` is replaced). Default none. */
  traceUiUrl?: string;
  logger: Logger;
}

export interface Gateway {
  /** The browser endpoint. */
  readonly http: BrowserServer;
  readonly frontDoor: FrontDoor | undefined;
  readonly registry: RegistryView;
  readonly metrics: MetricsHistory;
  readonly audit: AuditLog;
  readonly routers: RouterTransport;
  /** Spans of console-started runs, fed by the OTLP ingest (`otlpIngestHandler`). */
  readonly runTraces: RunTraceStore;
  close(graceMs?: number): Promise<void>;
}

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  if (h.startsWith("::ffff:")) return isLoopbackHost(h.slice("::ffff:".length));
  return isIP(h) === 4 && h.startsWith("127.");
}

const packageVersion = (): string => {
  try {
    const require = createRequire(import.meta.url);
    return String((require("../package.json") as { version?: unknown }).version ?? "dev");
  } catch {
    return "dev";
  }
};

const normalisePeer = (address: string | undefined) =>
  (address ?? "").replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1");

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const host = options.host ?? "127.0.0.1";
  const log = options.logger;
  const tokens = options.tokens ?? createTokenStore([]);
  if (!tokens.enabled && !isLoopbackHost(host)) {
    throw new ConfigError(
      `gateway: refusing to listen on ${host} without tokens: anyone who can reach it could run tasks. Set GATEWAY_TOKENS_FILE or GATEWAY_TOKENS, or use a loopback GATEWAY_HOST such as 127.0.0.1`,
    );
  }
  const limits: ServerLimits = { ...defaultServerLimits, ...options.limits };
  const gatewayLimits: GatewayLimits = { ...defaultGatewayLimits, ...options.gatewayLimits };
  const version = packageVersion();
  const upstreamAuth: Interceptor[] = options.upstreamToken
    ? [
        (next) => (req) => {
          if (!req.header.has("authorization")) {
            req.header.set("authorization", `Bearer ${options.upstreamToken}`);
          }
          return next(req);
        },
      ]
    : [];

  const audit = createAuditLog({
    ...(options.auditLogPath ? { path: options.auditLogPath } : {}),
    logger: log,
  });
  const registry = createRegistryView({
    consul: options.consul,
    logger: log,
    ...(options.registryWait ? { wait: options.registryWait } : {}),
  });
  const fleet = createRouterFleet({
    registry,
    timeoutMs: gatewayLimits.routerAdminTimeoutMs,
    ...(options.tls ? { tls: options.tls } : {}),
    interceptors: upstreamAuth,
  });
  const metrics = createMetricsHistory({
    fleet,
    logger: log,
    ...(options.metricsIntervalMs ? { intervalMs: options.metricsIntervalMs } : {}),
  });
  const routers = createRouterTransport({
    consul: options.consul,
    maxMessageBytes: limits.maxMessageBytes,
    interceptors: upstreamAuth,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.routerDiscovery ? { discovery: options.routerDiscovery } : {}),
  });

  let label: Promise<string> | undefined;
  const registryLabel = (): Promise<string> => {
    if (options.registryLabel) return Promise.resolve(options.registryLabel);
    label ??= options.consul.agentSelf(AbortSignal.timeout(2000)).then(
      (self) =>
        self.Config.Version === "embedded"
          ? `embedded ${options.consul.address.replace(/^https?:\/\//, "")}`
          : `consul ${options.consul.address}${self.Config.Version ? ` (${self.Config.Version})` : ""}`,
      (err: unknown) => {
        label = undefined; // ask again next time
        return `consul ${options.consul.address} (not answering: ${(err as Error).message})`;
      },
    );
    return label;
  };

  const runTraces = createRunTraceStore();
  const shutdown = new AbortController();
  const connectHandler = connectNodeAdapter({
    routes: (router) => {
      consoleServiceRoutes({
        registry,
        fleet,
        metrics,
        audit,
        version,
        registryLabel,
        invoke: {
          transport: routers,
          defaultTimeoutMs: gatewayLimits.invokeTimeoutMs,
          maxTimeoutMs: limits.maxTimeoutMs,
        },
      })(router);
      platformForwardingRoutes({ transport: routers })(router);
      runTraceRoutes(runTraces, options.traceUiUrl)(router);
    },
    interceptors: [
      serverTracingInterceptor(),
      runTraceInterceptor(runTraces),
      ...createBrowserInterceptors({ tokens, limits: gatewayLimits, audit }),
    ],
    readMaxBytes: limits.maxMessageBytes,
    writeMaxBytes: limits.maxMessageBytes,
    ...(limits.maxTimeoutMs > 0 ? { maxTimeoutMs: limits.maxTimeoutMs } : {}),
    shutdownSignal: shutdown.signal,
    contextValues: (req) =>
      createContextValues().set(peerKey, normalisePeer(req.socket.remoteAddress)),
  });
  const cors = createCorsPolicy(options.corsOrigins ?? defaultCorsOrigins);

  const http = await startBrowserServer({
    host,
    port: options.httpPort ?? 0,
    limits,
    logger: log,
    ...(options.tls ? { tls: options.tls } : {}),
    handler(req, res) {
      if (cors.handle(req, res)) return;
      if (req.method === "GET" && req.url === "/healthz") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok\n");
        return;
      }
      connectHandler(req, res);
    },
  });

  let frontDoor: FrontDoor | undefined;
  try {
    if (options.frontDoor ?? true) {
      frontDoor = await startFrontDoor({
        consul: options.consul,
        host,
        port: options.grpcPort ?? 0,
        logger: log.child({ listener: "front-door" }),
        limits,
        ...(options.frontDoorAuth ? { auth: options.frontDoorAuth } : {}),
        ...(options.tls ? { tls: options.tls, routerTls: options.tls } : {}),
      });
    }
  } catch (err) {
    await http.close(0);
    throw err;
  }
  log.info("gateway listening", {
    browser: `${options.tls ? "https" : "http"}://${http.address}`,
    frontDoor: frontDoor?.address,
    auth: tokens.enabled ? `${tokens.size} tokens` : "off (loopback only)",
    audit: options.auditLogPath ?? "memory",
  });

  let closing: Promise<void> | undefined;
  return {
    http,
    frontDoor,
    registry,
    metrics,
    audit,
    routers,
    runTraces,
    close(graceMs = limits.shutdownGraceMs) {
      closing ??= (async () => {
        shutdown.abort();
        await Promise.all([http.close(graceMs), frontDoor?.close(graceMs)]);
        metrics.stop();
        registry.stop();
        fleet.close();
        routers.close();
        await audit.close();
      })();
      return closing;
    },
  };
}
