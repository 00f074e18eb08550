// One HTTP/2 server for every platform process: Connect/gRPC/gRPC-Web routes, optional raw
// handlers in front of them (the router's pass-through), limits, keepalive and graceful drain.
import * as http2 from "node:http2";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { joinHostPort, listen, listenOnPath } from "./listen";
import type { Logger } from "./log";
import { defaultServerLimits, type ServerLimits } from "./server-limits";
import type { TlsFiles } from "./tls";
import { serverTracingInterceptor } from "./tracing/rpc-interceptors";

/** Handles a request itself and returns true, or returns false to leave it to the Connect routes. */
export type RawRequestHandler = (
  req: http2.Http2ServerRequest,
  res: http2.Http2ServerResponse,
) => boolean;

/**
 * Handles a stream itself and returns true, or returns false to leave it to `rawHandler` and the
 * Connect routes. It runs before node:http2's compatibility objects (Http2ServerRequest and
 * Http2ServerResponse) exist, and for the streams it takes they are never created: the hot path
 * of a proxy saves their cost. A stream it takes already has an 'error' listener.
 */
export type RawStreamHandler = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
) => boolean;

export interface GrpcServerOptions {
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 0. */
  port?: number;
  /** Listen on this Unix socket path instead of host:port (a server only local processes reach). */
  socketPath?: string;
  routes: (router: ConnectRouter) => void;
  rawHandler?: RawRequestHandler;
  /** Runs first, on the bare stream. Default none. */
  streamHandler?: RawStreamHandler;
  interceptors?: Interceptor[];
  limits?: Partial<ServerLimits>;
  /** TLS certificate and key; with a CA, clients must present a certificate it signed. */
  tls?: TlsFiles;
  /** Also accept HTTP/1.1 (browsers using gRPC-Web or Connect). Default false. */
  allowHttp1?: boolean;
  logger: Logger;
}

export interface GrpcServer {
  readonly host: string;
  readonly port: number;
  /** host:port as clients should dial it. */
  readonly address: string;
  readonly tls: boolean;
  /** Requests in progress. */
  activeStreams(): number;
  /**
   * Stops accepting connections, sends GOAWAY so clients go elsewhere, waits for in-flight
   * calls up to graceMs (default: limits.shutdownGraceMs), then closes what remains.
   */
  close(graceMs?: number): Promise<void>;
}

/** Errors of a stream a raw handler took surface as its 'close'; this keeps them from throwing. */
function ignoreStreamError(): void {}

/**
 * Puts `take` in front of node:http2's compatibility layer. A server created with a request
 * listener turns each 'stream' event into a 'request' through one 'stream' listener of its own
 * (since Node 8, and still in 20, 22 and 24); that listener is moved behind `take` and called
 * only for the streams `take` leaves. Returns false, changing nothing, when the server is not
 * wired that way.
 */
function takeStreamsFirst(
  server: http2.Http2Server | http2.Http2SecureServer,
  take: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean,
): boolean {
  const compat = server.listeners("stream");
  const toCompat = compat[0];
  if (compat.length !== 1 || toCompat === undefined) return false;
  server.removeListener("stream", toCompat as (...args: unknown[]) => void);
  server.on(
    "stream",
    (
      stream: http2.ServerHttp2Stream,
      headers: http2.IncomingHttpHeaders,
      flags: number,
      rawHeaders: string[],
    ) => {
      if (take(stream, headers)) return;
      toCompat.call(server, stream, headers, flags, rawHeaders);
    },
  );
  return true;
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const limits: ServerLimits = { ...defaultServerLimits, ...options.limits };
  const host = options.host ?? "127.0.0.1";
  const log = options.logger;

  const connectHandler = connectNodeAdapter({
    routes: options.routes,
    readMaxBytes: limits.maxMessageBytes,
    writeMaxBytes: limits.maxMessageBytes,
    ...(limits.maxTimeoutMs > 0 ? { maxTimeoutMs: limits.maxTimeoutMs } : {}),
    interceptors: [serverTracingInterceptor(), ...(options.interceptors ?? [])],
  });

  let active = 0;
  const onClose = () => {
    active--;
  };
  // Set only when the stream handler cannot run ahead of the compatibility layer.
  let streamHandlerInRequest: RawStreamHandler | undefined;
  const handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    active++;
    res.once("close", onClose);
    // HTTP/1.1 requests (allowHttp1) have no stream.
    if (streamHandlerInRequest && req.stream && streamHandlerInRequest(req.stream, req.headers)) {
      return;
    }
    if (options.rawHandler?.(req, res)) return;
    connectHandler(req, res);
  };

  const settings: http2.Settings = {
    maxConcurrentStreams: limits.maxConcurrentStreams,
    // Large initial windows keep streaming throughput up on fast links.
    initialWindowSize: 1024 * 1024,
    maxHeaderListSize: 64 * 1024,
  };
  const common = { settings, maxSessionMemory: 64, maxHeaderListPairs: 256 };
  const server = options.tls
    ? http2.createSecureServer(
        {
          ...common,
          cert: options.tls.cert,
          key: options.tls.key,
          allowHTTP1: options.allowHttp1 ?? false,
          ...(options.tls.ca
            ? { ca: options.tls.ca, requestCert: true, rejectUnauthorized: true }
            : {}),
        },
        handler,
      )
    : http2.createServer(common, handler);
  server.maxConnections = limits.maxConnections;
  const streamHandler = options.streamHandler;
  if (streamHandler) {
    const first = takeStreamsFirst(server, (stream, headers) => {
      if (!streamHandler(stream, headers)) return false;
      active++;
      stream.on("close", onClose);
      stream.on("error", ignoreStreamError);
      return true;
    });
    if (!first) streamHandlerInRequest = streamHandler;
  }

  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    session.on("error", (err) => log.debug("http2 session error", { err }));
    if (limits.idleTimeoutMs > 0) {
      session.setTimeout(limits.idleTimeoutMs, () => session.close());
    }
    if (limits.keepaliveTimeMs > 0) {
      const timer = setInterval(() => {
        if (session.closed || session.destroyed) return;
        const watchdog = setTimeout(() => session.destroy(), limits.keepaliveTimeoutMs);
        watchdog.unref();
        try {
          session.ping(() => clearTimeout(watchdog));
        } catch {
          clearTimeout(watchdog);
        }
      }, limits.keepaliveTimeMs);
      timer.unref();
      session.once("close", () => clearInterval(timer));
    }
  });
  server.on("sessionError", (err) => log.debug("http2 session error", { err }));
  server.on("tlsClientError", (err) => log.debug("tls handshake refused", { err }));

  const port =
    options.socketPath === undefined
      ? await listen(server, options.port ?? 0, host)
      : await listenOnPath(server, options.socketPath);
  server.on("error", (err) => log.error("server error", { err }));

  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    address:
      options.socketPath === undefined ? joinHostPort(host, port) : `unix:${options.socketPath}`,
    tls: options.tls !== undefined,
    activeStreams: () => active,
    close(graceMs = limits.shutdownGraceMs) {
      closing ??= new Promise<void>((resolve) => {
        const closed = new Promise<void>((done) => server.close(() => done()));
        for (const session of sessions) session.close();
        const force = setTimeout(() => {
          for (const session of sessions) session.destroy();
        }, graceMs);
        closed.then(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closing;
    },
  };
}
