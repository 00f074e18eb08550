// Pooled HTTP/2 client sessions per upstream host:port: opened on demand, shared by every call,
// a second one opened only when the first is out of streams, dropped on GOAWAY, error or close
// (the next call reconnects), kept honest with PING, and closed when idle.
import * as http2 from "node:http2";
import type { Logger } from "../log";
import type { TlsFiles } from "../tls";

export interface UpstreamPoolOptions {
  /** Client certificate, key and CA for upstreams that speak TLS. Default: none (h2c). */
  tls?: TlsFiles;
  /** A session not connected after this long fails its calls as connect failures. Default 2000 ms. */
  connectTimeoutMs?: number;
  /** PING interval on every session; 0 for none. Default 15000 ms. */
  pingIntervalMs?: number;
  /** A PING unanswered this long destroys the session. Default 5000 ms. */
  pingTimeoutMs?: number;
  /** A session with no streams for this long is closed. Default 120000 ms. */
  idleSessionMs?: number;
  /** Most sessions per upstream, opened as earlier ones fill up. Default 4. */
  maxSessionsPerUpstream?: number;
  logger: Logger;
}

/** One stream opened on a pooled session, and whether that session ever connected. */
export interface UpstreamStream {
  stream: http2.ClientHttp2Stream;
  /** True once the session's socket connected; false means a failure was a connect failure. */
  connected(): boolean;
  /**
   * True once the peer's first SETTINGS frame arrived. A connection that closes before that
   * never carried a request (the peer does not speak HTTP/2 here, e.g. it expects TLS).
   */
  spokeHttp2(): boolean;
  /** True when the session has been torn down (the connection is gone), not just this stream. */
  connectionLost(): boolean;
  /** The session's GOAWAY last-stream-id, when one arrived. */
  goawayLastStreamId(): number | undefined;
}

export interface UpstreamPool {
  /** Opens a request stream to `address` (host:port). Throws when no session can be created. */
  open(address: string, headers: http2.OutgoingHttpHeaders): UpstreamStream;
  /** Sessions open now, for diagnostics. */
  sessionCount(): number;
  /** Destroys every session. */
  close(): void;
}

interface PooledSession {
  session: http2.ClientHttp2Session;
  active: number;
  connected: boolean;
  spokeHttp2: boolean;
  goawayLastStreamId: number | undefined;
  idleSince: number;
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS, kept from its last SETTINGS frame. */
  streamLimit: number;
}

const defaultStreamLimit = 100;

/** One stream and the session it runs on; a class so that opening one allocates no closures. */
class PooledStream implements UpstreamStream {
  constructor(
    readonly stream: http2.ClientHttp2Stream,
    private readonly owner: PooledSession,
  ) {}
  connected(): boolean {
    return this.owner.connected;
  }
  spokeHttp2(): boolean {
    return this.owner.spokeHttp2;
  }
  connectionLost(): boolean {
    return this.owner.session.destroyed;
  }
  goawayLastStreamId(): number | undefined {
    return this.owner.goawayLastStreamId;
  }
}

const ownerOf = Symbol("pooled session");
type OwnedStream = http2.ClientHttp2Stream & { [ownerOf]?: PooledSession };

function releaseStream(this: OwnedStream): void {
  const owner = this[ownerOf];
  if (owner === undefined) return;
  owner.active--;
  if (owner.active === 0) owner.idleSince = Date.now();
}

function streamLimitOf(settings: http2.Settings): number {
  const limit = settings.maxConcurrentStreams;
  return limit === undefined || limit > 1_000_000 ? defaultStreamLimit : limit;
}

export function createUpstreamPool(options: UpstreamPoolOptions): UpstreamPool {
  const connectTimeoutMs = options.connectTimeoutMs ?? 2000;
  const pingIntervalMs = options.pingIntervalMs ?? 15_000;
  const pingTimeoutMs = options.pingTimeoutMs ?? 5000;
  const idleSessionMs = options.idleSessionMs ?? 120_000;
  const maxSessions = options.maxSessionsPerUpstream ?? 4;
  const log = options.logger;
  const pools = new Map<string, PooledSession[]>();

  const remove = (address: string, pooled: PooledSession) => {
    const list = pools.get(address);
    if (!list) return;
    const at = list.indexOf(pooled);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) pools.delete(address);
  };

  const connect = (address: string): PooledSession => {
    const authority = `${options.tls ? "https" : "http"}://${address}`;
    const session = http2.connect(authority, {
      ...(options.tls ? { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key } : {}),
      settings: { initialWindowSize: 1024 * 1024, enablePush: false },
      maxSessionMemory: 64,
    });
    const pooled: PooledSession = {
      session,
      active: 0,
      connected: false,
      spokeHttp2: false,
      goawayLastStreamId: undefined,
      idleSince: Date.now(),
      streamLimit: defaultStreamLimit,
    };
    const connectTimer = setTimeout(() => {
      const err = Object.assign(new Error(`connect to ${address} timed out`), {
        code: "ETIMEDOUT",
      });
      session.destroy(err);
    }, connectTimeoutMs);
    session.once("connect", () => {
      clearTimeout(connectTimer);
      pooled.connected = true;
      // A larger connection window keeps many concurrent streams from starving each other.
      session.setLocalWindowSize(8 * 1024 * 1024);
    });
    session.on("remoteSettings", (settings) => {
      pooled.spokeHttp2 = true;
      pooled.streamLimit = streamLimitOf(settings);
    });
    session.on("goaway", (_code, lastStreamId) => {
      pooled.goawayLastStreamId = lastStreamId;
      remove(address, pooled);
    });
    session.on("error", (err) => log.debug("upstream session error", { address, err }));
    session.once("close", () => {
      clearTimeout(connectTimer);
      clearInterval(timer);
      remove(address, pooled);
    });
    const timer = setInterval(
      () => {
        if (session.destroyed || session.closed) return;
        if (pooled.active === 0 && Date.now() - pooled.idleSince > idleSessionMs) {
          remove(address, pooled);
          session.close();
          return;
        }
        if (pingIntervalMs <= 0 || !pooled.connected) return;
        const watchdog = setTimeout(() => {
          log.warn("upstream did not answer PING, dropping session", { address });
          session.destroy();
        }, pingTimeoutMs);
        watchdog.unref();
        try {
          session.ping(() => clearTimeout(watchdog));
        } catch {
          clearTimeout(watchdog);
        }
      },
      Math.min(pingIntervalMs > 0 ? pingIntervalMs : idleSessionMs, idleSessionMs),
    );
    timer.unref();
    session.unref();
    return pooled;
  };

  const choose = (address: string): PooledSession => {
    let list = pools.get(address);
    if (!list) {
      list = [];
      pools.set(address, list);
    }
    let best: PooledSession | undefined;
    for (const pooled of list) {
      if (pooled.session.closed || pooled.session.destroyed) continue;
      if (pooled.active < pooled.streamLimit) return pooled;
      if (!best || pooled.active < best.active) best = pooled;
    }
    if (best && list.length >= maxSessions) return best;
    const fresh = connect(address);
    list.push(fresh);
    return fresh;
  };

  return {
    open(address, headers) {
      let pooled = choose(address);
      let stream: http2.ClientHttp2Stream;
      try {
        stream = pooled.session.request(headers, { endStream: false });
      } catch (err) {
        // The session ran out of stream ids or began closing between checks: use a new one.
        log.debug("upstream session refused a new stream, reconnecting", { address, err });
        remove(address, pooled);
        pooled = connect(address);
        pools.set(address, [...(pools.get(address) ?? []), pooled]);
        stream = pooled.session.request(headers, { endStream: false });
      }
      pooled.active++;
      (stream as OwnedStream)[ownerOf] = pooled;
      stream.on("close", releaseStream);
      return new PooledStream(stream, pooled);
    },
    sessionCount() {
      let n = 0;
      for (const list of pools.values()) n += list.length;
      return n;
    },
    close() {
      for (const list of pools.values()) {
        for (const pooled of list) pooled.session.destroy();
      }
      pools.clear();
    },
  };
}
