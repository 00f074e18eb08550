// A plain HTTP/1.1 listener for Prometheus scrapes and liveness probes: the gRPC ports speak
// h2c only, which scrapers and most probes do not.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { listen } from "./listen";
import type { Logger } from "./log";
import { prometheusContentType } from "./prometheus-text";
import { renderRuntimeMetrics } from "./runtime-metrics";

export interface MetricsServerOptions {
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 0. */
  port?: number;
  /** Produces the process's own exposition text served at GET /metrics. */
  render: () => string | Promise<string>;
  /** Append the runtime families (process_*, nodejs_*; platform/runtime-metrics.ts). Default true. */
  runtime?: boolean;
  /** Answers GET /healthz: 200 while true, 503 otherwise. Default: always healthy. */
  healthy?: () => boolean;
  /** Further handlers by exact path (e.g. an OTLP ingest at /v1/traces). Default none. */
  routes?: Record<string, (req: IncomingMessage, res: ServerResponse) => void>;
  /** Receives render failures. Default: none. */
  logger?: Logger;
}

export interface MetricsServer {
  readonly host: string;
  readonly port: number;
  /** http://host:port */
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? "127.0.0.1";

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    const route =
      options.routes !== undefined && Object.hasOwn(options.routes, path)
        ? options.routes[path]
        : undefined;
    if (route !== undefined) {
      route(req, res);
      return;
    }
    if (path !== "/metrics" && path !== "/healthz") {
      return reply(res, 404, "text/plain; charset=utf-8", "not found\n");
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return reply(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
    }
    if (path === "/healthz") {
      const ok = options.healthy?.() ?? true;
      return reply(res, ok ? 200 : 503, "text/plain; charset=utf-8", ok ? "ok\n" : "unhealthy\n");
    }
    try {
      const own = await options.render();
      const body = options.runtime === false ? own : own + (await renderRuntimeMetrics());
      reply(res, 200, prometheusContentType, body, req.method === "HEAD");
    } catch (err) {
      options.logger?.error("metrics render failed", { err });
      reply(res, 500, "text/plain; charset=utf-8", "metrics unavailable\n");
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  // Scrapers reuse connections; idle ones should not keep the process from closing for long.
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;

  const port = await listen(server, options.port ?? 0, host);
  const hostForUrl = host.includes(":") ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    url: `http://${hostForUrl}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function reply(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headOnly = false,
): void {
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  res.end(headOnly ? undefined : body);
}
