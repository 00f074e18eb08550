// An HTTP/2 server on our own framing (h2c, or TLS with ALPN h2 and optional client
// certificates): accepts connections within the limits, hands every request stream to
// `onStream`, pings idle peers, closes idle connections, and drains with GOAWAY.
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { Code } from "@connectrpc/connect";
import { joinHostPort, listen } from "../listen";
import type { Logger } from "../log";
import type { ServerLimits } from "../server-limits";
import type { TlsFiles } from "../tls";
import { H2Connection, type H2Stream } from "./connection";
import { ErrorCode } from "./frames";
import { trailersOnlyList } from "./header-list";
import type { HeaderList } from "./hpack";

export interface H2ServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  limits: ServerLimits;
  /** Server certificate; with a CA, clients must present certificates it signed (mTLS). */
  tls?: TlsFiles;
  /** A request stream; `stream.connection.peerAddress` is the caller's address. */
  onStream(stream: H2Stream, headers: HeaderList, endStream: boolean, headerBytes: number): void;
  /**
   * A request stream with no deadline that moved no data for limits.edge.idleStreamTimeoutMs.
   * Default: it is reset with CANCEL and its handler hears of it.
   */
  onIdleStream?(stream: H2Stream): void;
  /**
   * Apply limits.edge's per-peer-address limits on connections and open streams (a public edge;
   * not behind one, where every call comes from the same few peers). Default false.
   */
  limitPeers?: boolean;
  logger: Logger;
}

export interface H2Server {
  readonly port: number;
  readonly address: string;
  /** Request streams open now, over every connection. */
  activeStreams(): number;
  connectionCount(): number;
  /**
   * Stops accepting connections, sends GOAWAY on every connection so callers go elsewhere,
   * lets open streams finish for up to graceMs, then drops what remains.
   */
  close(graceMs: number): Promise<void>;
}

/** Largest header list a request may carry; larger ones are refused. */
export const maxRequestHeaderBytes = 64 * 1024;

export async function startH2Server(options: H2ServerOptions): Promise<H2Server> {
  const { limits, logger: log } = options;
  const connections = new Set<H2Connection>();
  const idleSince = new WeakMap<H2Connection, number>();
  const lastPingAt = new WeakMap<H2Connection, number>();
  const edge = limits.edge;
  const byPeer = options.limitPeers === true ? new Map<string, Set<H2Connection>>() : undefined;
  let closing = false;

  const onStream = (
    stream: H2Stream,
    headers: HeaderList,
    endStream: boolean,
    headerBytes: number,
  ): void => {
    const peerConnections = byPeer?.get(stream.connection.peerAddress);
    if (peerConnections !== undefined && edge.maxStreamsPerPeer > 0) {
      let open = 0;
      for (const connection of peerConnections) open += connection.activeStreams;
      if (open > edge.maxStreamsPerPeer) {
        stream.sendHeaders(
          trailersOnlyList(
            Code.ResourceExhausted,
            `too many calls open from ${stream.connection.peerAddress} (limit ${edge.maxStreamsPerPeer}); end some first`,
          ),
          true,
        );
        if (!stream.remoteEnded) stream.reset(ErrorCode.NO_ERROR);
        return;
      }
    }
    options.onStream(stream, headers, endStream, headerBytes);
  };

  const accept = (socket: Socket | TLSSocket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const peer = socket.remoteAddress ?? "";
    let peerConnections: Set<H2Connection> | undefined;
    if (byPeer !== undefined) {
      peerConnections = byPeer.get(peer);
      if (peerConnections === undefined) {
        peerConnections = new Set();
        byPeer.set(peer, peerConnections);
      }
    }
    const connection = new H2Connection(socket, {
      role: "server",
      maxConcurrentStreams: limits.maxConcurrentStreams,
      maxHeaderListSize: maxRequestHeaderBytes,
      edge,
      onStream,
      onClose: () => {
        connections.delete(connection);
        if (peerConnections !== undefined) {
          peerConnections.delete(connection);
          if (peerConnections.size === 0) byPeer?.delete(peer);
        }
      },
    });
    connection.peerAddress = peer;
    if (
      peerConnections !== undefined &&
      edge.maxConnectionsPerPeer > 0 &&
      peerConnections.size >= edge.maxConnectionsPerPeer
    ) {
      log.debug("too many connections from one peer; refusing", { peer });
      connection.refuse(ErrorCode.ENHANCE_YOUR_CALM);
      return;
    }
    peerConnections?.add(connection);
    idleSince.set(connection, performance.now());
    connections.add(connection);
  };

  const idleStreamChecks = edge.idleStreamTimeoutMs > 0 ? edge.idleStreamTimeoutMs / 1000 : 0;
  const endIdleStreams = (connection: H2Connection) => {
    for (const stream of connection.streams.values()) {
      if (stream.moved) {
        stream.moved = false;
        stream.idleChecks = 0;
      } else if (!stream.hasDeadline && ++stream.idleChecks >= idleStreamChecks) {
        if (options.onIdleStream !== undefined) options.onIdleStream(stream);
        else {
          stream.reset(ErrorCode.CANCEL);
          stream.handler?.onAbort(stream, ErrorCode.CANCEL, "reset");
        }
      }
    }
  };

  let server: Server;
  const tls = options.tls;
  if (tls !== undefined) {
    server = createTlsServer(
      {
        cert: tls.cert,
        key: tls.key,
        ALPNProtocols: ["h2"],
        ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
      },
      (socket) => {
        if (socket.alpnProtocol !== "h2") {
          log.debug("TLS client did not ask for HTTP/2 (ALPN h2); closing", {
            peer: socket.remoteAddress,
          });
          socket.destroy();
          return;
        }
        accept(socket);
      },
    );
    server.on("tlsClientError", (err) => log.debug("tls handshake refused", { err }));
  } else {
    server = createNetServer(accept);
  }
  server.maxConnections = limits.maxConnections;
  const port = await listen(server, options.port, options.host);
  server.on("error", (err) => log.error("server error", { err }));

  // Idle and keepalive checks for every connection, once a second rather than a timer each.
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const connection of connections) {
      connection.checkTimers(now);
      if (idleStreamChecks > 0 && connection.activeStreams > 0) endIdleStreams(connection);
      // A client that keeps sending keepalive PINGs wants its connection: it is not idle.
      if (connection.activeStreams > 0 || connection.streamsOpened || connection.peerPinged) {
        connection.streamsOpened = false;
        connection.peerPinged = false;
        idleSince.set(connection, now);
      } else if (
        limits.idleTimeoutMs > 0 &&
        connection.goawaySent === undefined &&
        now - (idleSince.get(connection) ?? now) > limits.idleTimeoutMs
      ) {
        connection.goaway();
        continue;
      }
      if (connection.pingSentAt !== 0) {
        // Unanswered keepalive PING, or the PING after a GOAWAY: a peer that has gone quiet.
        const timeoutMs = limits.keepaliveTimeoutMs > 0 ? limits.keepaliveTimeoutMs : 10_000;
        if (now - connection.pingSentAt > timeoutMs) {
          log.debug("peer did not answer PING, dropping the connection", {
            peer: connection.peerAddress,
          });
          connection.destroy(ErrorCode.CANCEL);
        }
        continue;
      }
      if (limits.keepaliveTimeMs <= 0) continue;
      if (connection.sawFrames) {
        connection.sawFrames = false;
        lastPingAt.set(connection, now);
        continue;
      }
      if (now - (lastPingAt.get(connection) ?? 0) >= limits.keepaliveTimeMs) {
        lastPingAt.set(connection, now);
        connection.ping(now);
      }
    }
  }, 1000);
  sweep.unref();

  let closed: Promise<void> | undefined;
  return {
    port,
    address: joinHostPort(options.host, port),
    activeStreams() {
      let n = 0;
      for (const connection of connections) n += connection.activeStreams;
      return n;
    },
    connectionCount: () => connections.size,
    close(graceMs) {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        server.close();
        for (const connection of connections) connection.goaway();
        const started = performance.now();
        const wait = setInterval(() => {
          if (connections.size > 0 && performance.now() - started < graceMs) return;
          clearInterval(wait);
          clearInterval(sweep);
          // Calls still open are reset (CANCEL) one by one, then the connections go.
          for (const connection of connections) connection.abort(ErrorCode.CANCEL);
          setTimeout(() => {
            for (const connection of connections) connection.destroy();
            resolve();
          }, 50);
        }, 25);
      });
      return closed;
    },
  };
}
