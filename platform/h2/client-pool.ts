// HTTP/2 client connections per upstream (host:port, or unix:/path for a local socket), shared by
// every call: opened on demand, another opened only when the first is out of streams or of send
// window, dropped on GOAWAY or close (the next call reconnects), kept honest with PING, and
// closed when idle. Callers sharing a connection are isolated: its connection-level window is
// returned as bytes arrive, so a caller that does not read holds back only its own stream,
// whose window (and so what waits for it here) is small.
import { isIP, connect as netConnect } from "node:net";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import type { Logger } from "../log";
import type { TlsFiles } from "../tls";
import { H2Connection } from "./connection";
import { ErrorCode } from "./frames";

export interface H2ClientPoolOptions {
  /** Client certificate, key and CA for upstreams that speak TLS. Default: none (h2c). */
  tls?: TlsFiles;
  /** A connection not established after this long fails its calls as connect failures. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** PING interval on every connection; 0 for none. Default 15000 ms. */
  pingIntervalMs?: number;
  /** A PING unanswered this long drops the connection. Default 5000 ms. */
  pingTimeoutMs?: number;
  /**
   * PING interval on a connection with calls outstanding, so a peer that stopped answering
   * (a frozen process, a dead host behind an open TCP connection) is noticed within about
   * this plus activePingTimeoutMs; 0 for none. Default 1000 ms.
   */
  activePingIntervalMs?: number;
  /**
   * A PING on a busy connection unanswered this long retires the connection (no new calls on
   * it; it is dropped when its calls end or pingTimeoutMs passes) and reports the upstream
   * unresponsive. Default 1000 ms.
   */
  activePingTimeoutMs?: number;
  /**
   * Hears of an upstream that did not answer a PING on a busy connection, or accepted TCP but
   * sent no SETTINGS within connectTimeoutMs: outlier detection takes it out of rotation.
   */
  onUnresponsive?(address: string, why: string): void;
  /** A connection with no streams for this long is closed. Default 120000 ms. */
  idleConnectionMs?: number;
  /** Most connections per upstream, opened as earlier ones fill up. Default 64. */
  maxConnectionsPerUpstream?: number;
  /**
   * Receive window of each stream: what an upstream may send for one call before its caller
   * reads it, so what a caller that does not read can hold here. Default 64 KiB.
   */
  streamWindowBytes?: number;
  logger: Logger;
}

export interface H2ClientPool {
  /** "http" or "https", for the :scheme of requests sent through this pool. */
  readonly scheme: string;
  /**
   * A connection to `address` with room for one more stream (or, when every allowed connection
   * is full, the least busy one: the peer then refuses the stream and the caller may retry).
   */
  connection(address: string): H2Connection;
  /** Connections open now, for diagnostics. */
  connectionCount(): number;
  /** Drops every connection. */
  close(): void;
}

interface Pooled {
  connection: H2Connection;
  idleSince: number;
  openedAt: number;
  /** When the last PING for liveness went out on this connection. */
  activePingAt: number;
}

/** "host:port", "[v6]:port" or "unix:/path" → what net.connect needs. */
function dialOptions(address: string): { host: string; port: number } | { path: string } {
  if (address.startsWith("unix:")) return { path: address.slice(5) };
  const colon = address.lastIndexOf(":");
  let host = address.slice(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return { host, port: Number(address.slice(colon + 1)) };
}

export function createH2ClientPool(options: H2ClientPoolOptions): H2ClientPool {
  const connectTimeoutMs = options.connectTimeoutMs ?? 2000;
  const pingIntervalMs = options.pingIntervalMs ?? 15_000;
  const pingTimeoutMs = options.pingTimeoutMs ?? 5000;
  const idleConnectionMs = options.idleConnectionMs ?? 120_000;
  const maxConnections = options.maxConnectionsPerUpstream ?? 64;
  const streamWindowBytes = options.streamWindowBytes ?? 64 * 1024;
  const log = options.logger;
  const tls = options.tls;
  const pools = new Map<string, Pooled[]>();
  let lastPingAt = 0;
  const activePingIntervalMs = options.activePingIntervalMs ?? 1000;
  const activePingTimeoutMs = options.activePingTimeoutMs ?? 1000;
  /** Connections taken out of the pool for not answering, until their calls end. */
  const retired = new Set<H2Connection>();
  let lastTickAt = performance.now();

  const remove = (address: string, connection: H2Connection) => {
    const list = pools.get(address);
    if (list === undefined) return;
    const at = list.findIndex((p) => p.connection === connection);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) pools.delete(address);
  };

  const dial = (address: string): H2Connection => {
    const target = dialOptions(address);
    let socket: Duplex;
    let established: string;
    if (tls !== undefined && !("path" in target)) {
      socket = tlsConnect({
        ...target,
        ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
        ALPNProtocols: ["h2"],
        ...(tls.ca ? { ca: tls.ca } : {}),
        cert: tls.cert,
        key: tls.key,
      });
      established = "secureConnect";
    } else {
      socket = netConnect(target);
      established = "connect";
    }
    const connection = new H2Connection(socket, {
      role: "client",
      initialWindowSize: streamWindowBytes,
      creditConnectionOnReceipt: true,
      onGoaway: () => remove(address, connection),
      onClose: () => {
        clearTimeout(timer);
        remove(address, connection);
      },
    });
    connection.connected = false;
    const timer = setTimeout(() => {
      log.debug("upstream connect timed out", { address, timeoutMs: connectTimeoutMs });
      connection.destroy(ErrorCode.CONNECT_ERROR);
    }, connectTimeoutMs);
    socket.once(established, () => {
      clearTimeout(timer);
      const alpn = (socket as { alpnProtocol?: string | false }).alpnProtocol;
      if (established === "secureConnect" && alpn !== "h2") {
        log.warn("upstream did not agree to HTTP/2 over TLS", { address, alpn });
        connection.destroy(ErrorCode.INADEQUATE_SECURITY);
        return;
      }
      connection.connected = true;
      (socket as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    });
    socket.on("error", (err) => log.debug("upstream connection error", { address, err }));
    return connection;
  };

  const tick = () => {
    const now = performance.now();
    // After a stall of this process, answers may sit unread in the sockets: judge nothing yet.
    const judge = now - lastTickAt < 2 * tickMs;
    lastTickAt = now;
    for (const connection of retired) {
      if (connection.closed) retired.delete(connection);
      else if (
        connection.activeStreams === 0 ||
        (judge && connection.pingSentAt !== 0 && now - connection.pingSentAt > pingTimeoutMs)
      ) {
        retired.delete(connection);
        connection.destroy();
      }
    }
    const ping = pingIntervalMs > 0 && now - lastPingAt >= pingIntervalMs;
    if (ping) lastPingAt = now;
    for (const [address, list] of pools) {
      for (const pooled of [...list]) {
        const connection = pooled.connection;
        connection.checkTimers(now);
        if (connection.activeStreams > 0 || connection.streamsOpened) {
          connection.streamsOpened = false;
          pooled.idleSince = now;
        } else if (now - pooled.idleSince > idleConnectionMs) {
          remove(address, connection);
          connection.goaway();
          continue;
        }
        if (connection.pingSentAt !== 0 && now - connection.pingSentAt > pingTimeoutMs) {
          log.warn("upstream did not answer PING, dropping the connection", { address });
          remove(address, connection);
          connection.destroy();
          continue;
        }
        if (ping && connection.ready && connection.pingSentAt === 0) connection.ping(now);
        if (judge && livenessLost(address, pooled, now)) remove(address, connection);
      }
    }
  };

  /** Liveness of a connection with calls outstanding; true when it was just given up on. */
  const livenessLost = (address: string, pooled: Pooled, now: number): boolean => {
    const connection = pooled.connection;
    if (connection.closed) return false;
    if (!connection.ready) {
      if (!connection.connected || now - pooled.openedAt <= connectTimeoutMs) return false;
      // TCP accepted (by the kernel, say, for a frozen process) but no SETTINGS came.
      log.warn("upstream accepted the connection but never spoke HTTP/2", { address });
      options.onUnresponsive?.(address, "connect timeout");
      connection.destroy(ErrorCode.CONNECT_ERROR);
      return true;
    }
    if (activePingIntervalMs <= 0 || connection.activeStreams === 0) return false;
    if (connection.pingSentAt !== 0) {
      if (now - connection.pingSentAt <= activePingTimeoutMs) return false;
      log.warn("upstream did not answer PING with calls outstanding: no new calls on it", {
        address,
        calls: connection.activeStreams,
      });
      options.onUnresponsive?.(address, "PING timeout");
      retired.add(connection);
      return true;
    }
    if (now - pooled.activePingAt >= activePingIntervalMs) {
      pooled.activePingAt = now;
      connection.ping(now);
    }
    return false;
  };

  const tickMs =
    activePingIntervalMs > 0
      ? 250
      : Math.max(
          250,
          Math.min(pingIntervalMs > 0 ? pingIntervalMs : idleConnectionMs, idleConnectionMs, 1000),
        );
  const ticker = setInterval(tick, tickMs);
  ticker.unref();

  return {
    scheme: tls === undefined ? "http" : "https",
    connection(address) {
      let list = pools.get(address);
      if (list === undefined) {
        list = [];
        pools.set(address, list);
      }
      let best: H2Connection | undefined;
      for (const pooled of list) {
        const connection = pooled.connection;
        if (connection.canOpen() && connection.sendWindowLeft > 0) return connection;
        if (
          !connection.closed &&
          connection.goawayReceived === undefined &&
          connection.goawaySent === undefined &&
          (best === undefined || connection.activeStreams < best.activeStreams)
        ) {
          best = connection;
        }
      }
      if (best !== undefined && list.length >= maxConnections) return best;
      let fresh: H2Connection;
      try {
        fresh = dial(address);
      } catch (err) {
        if (list.length === 0) pools.delete(address);
        throw err;
      }
      const at = performance.now();
      list.push({ connection: fresh, idleSince: at, openedAt: at, activePingAt: 0 });
      return fresh;
    },
    connectionCount() {
      let n = 0;
      for (const list of pools.values()) n += list.length;
      return n;
    },
    close() {
      clearInterval(ticker);
      for (const list of pools.values()) {
        for (const pooled of list) pooled.connection.destroy();
      }
      pools.clear();
      for (const connection of retired) connection.destroy();
      retired.clear();
    },
  };
}
