// A Consul-compatible registry in one process (like `consul agent -dev`): the HTTP API subset the
// platform uses, blocking queries and active health checks, so `npm start` needs nothing installed.
import { randomUUID } from "node:crypto";
import * as http from "node:http";
import { hostname } from "node:os";
import { joinHostPort, listen } from "../../platform/listen";
import { createLogger, type Logger } from "../../platform/log";
import { createBlockingQueries } from "./blocking-queries";
import { createCheckRunner } from "./check-runner";
import type { CheckTls } from "./check-tls";
import { parseGoDuration } from "./go-duration";
import { createRegistryRoutes, type RouteResult } from "./registry-api";
import { RegistryHttpError } from "./registry-model";
import { createRegistryState, type RegistryState } from "./registry-state";

export interface EmbeddedRegistryOptions {
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 0. */
  port?: number;
  /** Default: a "registry" logger. */
  logger?: Logger;
  /** Timeout of one check run when the check sets none. Default 10000 (Consul's). */
  checkTimeoutMs?: number;
  /**
   * CA and client certificate for gRPC (GRPCUseTLS) and HTTPS checks, like Consul's
   * enable_agent_tls_for_checks. Default: the built-in roots, no client certificate.
   */
  checkTls?: CheckTls;
  /** Shortest check interval honoured. Default 1000 (Consul's minimum). */
  minCheckIntervalMs?: number;
  /** How often services critical past DeregisterCriticalServiceAfter are removed. Default 5000. */
  reapIntervalMs?: number;
  /** Largest number of blocking queries waiting at once. Default 4096. */
  maxBlockingQueries?: number;
  /** Largest request body in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** The node's name. Default: the host name. */
  nodeName?: string;
  /** Default "dc1". */
  datacenter?: string;
}

export interface EmbeddedRegistry {
  /** "127.0.0.1:PORT": what CONSUL_HTTP_ADDR should hold. */
  readonly address: string;
  readonly port: number;
  /** The catalog, for tests and diagnostics. */
  readonly state: RegistryState;
  /** Answers waiting queries, stops checks and closes the server. */
  close(): Promise<void>;
}

/** Consul's blocking-query wait: default 5 minutes, at most 10, plus up to wait/16 of jitter. */
const defaultWaitMs = 5 * 60_000;
const maxWaitMs = 10 * 60_000;
const jitterFraction = 16;

/** Parses ?index and ?wait like Consul, returning the wait with jitter added. */
function blockingParams(query: URLSearchParams): { minIndex: number; waitMs: number } {
  const rawIndex = query.get("index");
  let minIndex = 0;
  if (rawIndex !== null && rawIndex !== "") {
    minIndex = Number(rawIndex);
    if (!Number.isSafeInteger(minIndex) || minIndex < 0) {
      throw new RegistryHttpError(400, "Invalid index");
    }
  }
  let waitMs = defaultWaitMs;
  const rawWait = query.get("wait");
  if (rawWait !== null && rawWait !== "") {
    try {
      waitMs = Math.min(parseGoDuration("wait", rawWait) ?? defaultWaitMs, maxWaitMs);
    } catch {
      throw new RegistryHttpError(400, "Invalid wait time");
    }
  }
  return { minIndex, waitMs: waitMs + Math.random() * (waitMs / jitterFraction) };
}

/** A query's identity for blocking: its path and parameters, minus index and wait. */
function queryKey(path: string, query: URLSearchParams): string {
  const params = [...query.entries()]
    .filter(([k]) => k !== "index" && k !== "wait")
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${path}?${new URLSearchParams(params).toString()}`;
}

function readBody(req: http.IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? "0");
  const tooLarge = (size: number) =>
    new RegistryHttpError(
      413,
      `Request body(${size} bytes) too large, max size: ${maxBytes} bytes`,
    );
  if (declared > maxBytes) return Promise.reject(tooLarge(declared));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners("data");
        req.resume();
        reject(tooLarge(size));
        return;
      }
      chunks.push(chunk);
    });
    req.once("error", reject);
    req.once("end", () => {
      if (size > maxBytes) return;
      const text = Buffer.concat(chunks).toString("utf8");
      if (text.trim() === "") return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new RegistryHttpError(400, `Request decode failed: ${(err as Error).message}`));
      }
    });
  });
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RegistryHttpError(400, `Invalid URL escape in ${JSON.stringify(segment)}`);
  }
}

export async function startEmbeddedRegistry(
  options: EmbeddedRegistryOptions = {},
): Promise<EmbeddedRegistry> {
  const host = options.host ?? "127.0.0.1";
  const log = options.logger ?? createLogger("registry");
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const unspecified = host === "0.0.0.0" || host === "::" || host === "";
  const state = createRegistryState({
    id: randomUUID(),
    name: options.nodeName ?? hostname(),
    address: unspecified ? "127.0.0.1" : host,
    datacenter: options.datacenter ?? "dc1",
  });
  const checks = createCheckRunner(state, {
    defaultTimeoutMs: options.checkTimeoutMs ?? 10_000,
    minIntervalMs: options.minCheckIntervalMs ?? 1000,
    ...(options.checkTls ? { tls: options.checkTls } : {}),
    logger: log,
  });
  const blocking = createBlockingQueries(state.index, {
    maxWaiting: options.maxBlockingQueries ?? 4096,
    maxRemembered: 16_384,
  });
  state.onChange(() => blocking.changed());
  const routes = createRegistryRoutes({ state, checks, logger: log });

  const reaper = setInterval(() => {
    const now = Date.now();
    let reaped = false;
    for (const check of state.checks()) {
      const after = check.spec.deregisterAfterMs;
      if (after === undefined || check.criticalSince === undefined) continue;
      if (now - check.criticalSince >= after && state.deregister(check.serviceId)) {
        log.info("removed service critical past DeregisterCriticalServiceAfter", {
          service: check.serviceId,
          check: check.spec.id,
        });
        reaped = true;
      }
    }
    if (reaped) checks.sync();
  }, options.reapIntervalMs ?? 5000);
  reaper.unref();

  const send = (
    res: http.ServerResponse,
    status: number,
    body: string,
    headers: Record<string, string> = {},
  ) => {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      "Content-Type": status < 300 ? "application/json" : "text/plain; charset=utf-8",
      "Content-Length": Buffer.byteLength(body),
      ...headers,
    });
    res.end(body);
  };

  async function respond(res: http.ServerResponse, url: URL, result: RouteResult) {
    if (result.kind === "json") {
      send(res, 200, result.value === undefined ? "" : JSON.stringify(result.value));
      return;
    }
    const { minIndex, waitMs } = blockingParams(url.searchParams);
    const gone = new AbortController();
    // Releases the wait when the client disconnects before an answer is sent.
    res.once("close", () => gone.abort());
    const answer = await blocking.answer(queryKey(url.pathname, url.searchParams), result.compute, {
      minIndex,
      waitMs,
      signal: gone.signal,
    });
    send(res, 200, answer.body, {
      "X-Consul-Index": String(answer.index),
      "X-Consul-KnownLeader": "true",
      "X-Consul-LastContact": "0",
    });
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? "/", "http://registry");
    // The first route whose path matches owns it, as in Consul's mux: another method gets 405.
    for (const route of routes) {
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      if (route.method !== req.method) {
        req.resume();
        send(res, 405, `method ${req.method} not allowed`);
        return;
      }
      const result = await route.handle({
        params: match.slice(1).map(decodePathSegment),
        query: url.searchParams,
        body: () => readBody(req, maxBodyBytes),
      });
      await respond(res, url, result);
      return;
    }
    send(res, 404, "404 page not found\n");
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof RegistryHttpError) {
        // A rejected body may still be arriving: close rather than read it all.
        if (err.status === 413) res.setHeader("Connection", "close");
        send(res, err.status, err.message);
        return;
      }
      log.error("registry request failed", { err, url: req.url });
      send(res, 500, err instanceof Error ? err.message : String(err));
    });
  });
  server.on("clientError", (err, socket) => {
    log.debug("bad http request", { err });
    socket.destroy();
  });

  const port = await listen(server, options.port ?? 0, host);
  const dialHost = unspecified ? "127.0.0.1" : host;
  const address = joinHostPort(dialHost, port);

  let closing: Promise<void> | undefined;
  return {
    address,
    port,
    state,
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(reaper);
        checks.close();
        server.close(() => resolve());
        blocking.releaseAll();
        server.closeIdleConnections();
        // Answered queries finish within a moment; then drop whatever connection remains.
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
      return closing;
    },
  };
}
