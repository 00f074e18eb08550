// The browser endpoint's listener: HTTP/1.1 and HTTP/2 on one port. Without TLS, node:http2
// cannot take HTTP/1.1, so each new connection is sniffed for the HTTP/2 preface and handed to
// an http2 or an http server; with TLS, ALPN chooses and one secure server does both.
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { joinHostPort, listen } from "../platform/listen";
import type { Logger } from "../platform/log";
import type { ServerLimits } from "../platform/server-limits";
import type { TlsFiles } from "../platform/tls";
import type { NodeRequest, NodeResponse } from "./cors";

export interface BrowserServerOptions {
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 0. */
  port?: number;
  handler: (req: NodeRequest, res: NodeResponse) => void;
  limits: ServerLimits;
  tls?: TlsFiles;
  logger: Logger;
}

export interface BrowserServer {
  readonly host: string;
  readonly port: number;
  /** host:port as clients should dial it. */
  readonly address: string;
  readonly tls: boolean;
  /** Stops accepting, asks HTTP/2 clients to go away, and ends what remains after graceMs. */
  close(graceMs?: number): Promise<void>;
}

const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** True when the first bytes of a connection are (the start of) the HTTP/2 client preface. */
export function startsWithHttp2Preface(chunk: Buffer): boolean {
  const n = Math.min(chunk.length, preface.length);
  return n > 0 && chunk.subarray(0, n).equals(preface.subarray(0, n));
}

export async function startBrowserServer(options: BrowserServerOptions): Promise<BrowserServer> {
  const { limits, logger: log } = options;
  const host = options.host ?? "127.0.0.1";
  const settings: http2.Settings = {
    maxConcurrentStreams: limits.maxConcurrentStreams,
    initialWindowSize: 1024 * 1024,
    maxHeaderListSize: 64 * 1024,
  };
  const common = { settings, maxSessionMemory: 64, maxHeaderListPairs: 256 };
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();

  const h2 = options.tls
    ? http2.createSecureServer(
        {
          ...common,
          cert: options.tls.cert,
          key: options.tls.key,
          allowHTTP1: true,
          ...(options.tls.ca
            ? { ca: options.tls.ca, requestCert: true, rejectUnauthorized: true }
            : {}),
        },
        options.handler,
      )
    : http2.createServer(common, options.handler);
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    session.on("error", (err) => log.debug("http2 session error", { err }));
    // A connection silent both ways is closed (GOAWAY), and dropped if a stream holds it open.
    const silentMs = Math.min(
      limits.edge.silentConnectionTimeoutMs,
      limits.idleTimeoutMs > 0 ? limits.idleTimeoutMs : Number.POSITIVE_INFINITY,
    );
    if (Number.isFinite(silentMs) && silentMs > 0) {
      session.setTimeout(silentMs, () => {
        session.close();
        setTimeout(() => session.destroy(), 5000).unref();
      });
    }
  });
  h2.on("sessionError", (err) => log.debug("http2 session error", { err }));

  // Server-streaming calls (WatchServices, WatchMetrics) keep a response open for long:
  // only the request itself is timed, never the response.
  const h1 = http.createServer(
    { requestTimeout: 60_000, headersTimeout: 30_000, keepAliveTimeout: 5_000 },
    options.handler,
  );
  h1.on("clientError", (err, socket) => {
    log.debug("http/1.1 client error", { err });
    socket.destroy();
  });

  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };

  let listener: net.Server;
  if (options.tls) {
    listener = h2;
    h2.on("connection", track);
  } else {
    listener = net.createServer((socket) => {
      track(socket);
      socket.on("error", (err) => log.debug("connection error", { err }));
      // A connection that never says anything is not worth a file descriptor.
      socket.setTimeout(30_000, () => socket.destroy());
      socket.once("data", (chunk: Buffer) => {
        socket.setTimeout(0);
        socket.pause();
        socket.unshift(chunk);
        if (startsWithHttp2Preface(chunk)) {
          // The http2 session reads the socket itself, buffered bytes first; resuming the
          // stream here would race it for those bytes.
          h2.emit("connection", socket);
        } else {
          h1.emit("connection", socket);
          socket.resume();
        }
      });
    });
  }
  listener.maxConnections = limits.maxConnections;

  const port = await listen(listener, options.port ?? 0, host);
  listener.on("error", (err) => log.error("server error", { err }));

  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    address: joinHostPort(host, port),
    tls: options.tls !== undefined,
    close(graceMs = limits.shutdownGraceMs) {
      closing ??= new Promise<void>((resolve) => {
        listener.close(() => resolve());
        for (const session of sessions) session.close();
        h1.closeIdleConnections();
        const force = setTimeout(() => {
          for (const session of sessions) session.destroy();
          for (const socket of sockets) socket.destroy();
        }, graceMs);
        force.unref();
        // Keep-alive HTTP/1.1 sockets do not close by themselves once their request is done.
        const sweep = setInterval(() => h1.closeIdleConnections(), 100);
        sweep.unref();
        void closing?.finally(() => {
          clearTimeout(force);
          clearInterval(sweep);
        });
      });
      return closing;
    },
  };
}
