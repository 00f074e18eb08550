// A proxy's front on our own HTTP/2 framing: the calls it relays itself are taken by `take`;
// everything else (health, reflection, the proxy's own Connect services, other protocols) is
// passed unchanged to an internal Connect server that listens on a Unix socket in a private
// directory, so only this process reaches it and node:http2's per-stream cost is paid only by
// calls that need a Connect handler.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import type { JwtAuthenticator } from "../auth/jwt";
import { parseGrpcTimeout } from "../forwarding/grpc-timeout";
import { hopHeader } from "../forwarding/hop-headers";
import { type GrpcServerOptions, startGrpcServer } from "../grpc-server";
import type { Logger } from "../log";
import type { ServerLimits } from "../server-limits";
import type { TlsFiles } from "../tls";
import { createH2ClientPool, type H2ClientPool, type H2ClientPoolOptions } from "./client-pool";
import type { H2Stream } from "./connection";
import { ErrorCode } from "./frames";
import { headerValue, trailersOnlyList } from "./header-list";
import { copyNeverIndexed, type HeaderList } from "./hpack";
import { RelayedCall } from "./relayed-call";
import { maxRequestHeaderBytes, startH2Server } from "./server";

/** Where relayed calls can go. */
export interface RelayTargets {
  /** Connections to upstreams (and to the internal server). */
  pool: H2ClientPool;
  /** The internal Connect server ("unix:/path"). */
  internalAddress: string;
}

/** Takes a request stream and returns true, or returns false to pass it to the internal server. */
export type StreamTaker = (stream: H2Stream, headers: HeaderList, startedAt: number) => boolean;

export interface RelayFrontOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  limits: ServerLimits;
  /** Server certificate for callers; with a CA, callers must present certificates (mTLS). */
  tls?: TlsFiles;
  /** Client certificate and CA for upstreams that require TLS. Default: h2c. */
  upstreamTls?: TlsFiles;
  /** Liveness tuning and the unresponsive-upstream hook of the upstream pool. Default: its own. */
  upstream?: Pick<
    H2ClientPoolOptions,
    "activePingIntervalMs" | "activePingTimeoutMs" | "connectTimeoutMs" | "onUnresponsive"
  >;
  /** The Connect server for everything `take` leaves (its address and limits are set here). */
  internal: Pick<GrpcServerOptions, "routes" | "streamHandler" | "interceptors">;
  /** Builds the taker, given where calls can go. */
  take(targets: RelayTargets): StreamTaker;
  /** Apply the per-peer-address limits of limits.edge (a public edge). Default false. */
  limitPeers?: boolean;
  logger: Logger;
}

export interface RelayFront {
  readonly port: number;
  readonly targets: RelayTargets;
  /** Request streams open now. */
  activeStreams(): number;
  /** GOAWAY to callers, open streams finish within graceMs, then everything stops. */
  close(graceMs: number): Promise<void>;
}

/** Passes a call unchanged to the internal server; it answers with its own status. */
export class InternalCall extends RelayedCall {
  private readonly internalAddress: string;

  constructor(down: H2Stream, headers: HeaderList, targets: RelayTargets, startedAt: number) {
    super(down, targets.pool, startedAt);
    this.upstreamHeaders = headers;
    this.timesFirstMessage = false;
    this.internalAddress = targets.internalAddress;
  }
  protected override pick(): string {
    return this.internalAddress;
  }
  protected override mayRetry(): boolean {
    return false;
  }
  protected override upstreamName(): string {
    return "this server's own handler";
  }
}

/** Request headers that describe one connection, or that a relay sets itself. */
const dropRequestHeaders = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
  "grpc-timeout",
  hopHeader,
  "x-forwarded-for",
]);

/** Proxies a call passed through before this one, from its headers. */
export function hopCount(headers: HeaderList): number {
  const raw = headerValue(headers, hopHeader);
  if (raw === undefined) return 0;
  const hops = Number(raw);
  return Number.isInteger(hops) && hops >= 0 ? hops : 0;
}

/**
 * A request's headers for the next hop: pseudo-headers first, connection headers dropped, the
 * hop count raised and the caller appended to x-forwarded-for (grpc-timeout is added per attempt).
 */
export function nextHopHeaders(headers: HeaderList, scheme: string, peer: string): HeaderList {
  const out: HeaderList = [
    ":method",
    headerValue(headers, ":method") ?? "POST",
    ":scheme",
    scheme,
    ":path",
    headerValue(headers, ":path") ?? "/",
    ":authority",
    headerValue(headers, ":authority") ?? "",
  ];
  let forwardedFor: string | undefined;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.charCodeAt(0) === 58 /* ":" */) continue;
    if (name === "x-forwarded-for") forwardedFor = headers[i + 1];
    if (dropRequestHeaders.has(name)) continue;
    out.push(name, headers[i + 1] as string);
  }
  out.push(hopHeader, String(hopCount(headers) + 1));
  const before = forwardedFor === "" ? undefined : forwardedFor;
  if (before !== undefined)
    out.push("x-forwarded-for", peer === "" ? before : `${before}, ${peer}`);
  else if (peer !== "") out.push("x-forwarded-for", peer);
  copyNeverIndexed(headers, out);
  return out;
}

/** What a relay checks before it reads a call's body. */
export interface AdmissionRules {
  /** Service tokens; undefined for none. */
  auth: JwtAuthenticator | undefined;
  /** Longest deadline accepted, in ms; 0 for no limit. */
  maxTimeoutMs: number;
  /** Proxies a call may have passed before this one; past it, a loop is assumed. */
  maxHops: number;
}

/**
 * Checks a call's token, deadline and hop count: its absolute deadline (performance.now()
 * clock, undefined for none) when it may go on, or the status to refuse it with.
 */
export function admitCall(
  headers: HeaderList,
  path: string,
  startedAt: number,
  rules: AdmissionRules,
): { deadlineAt: number | undefined } | { code: number; message: string } {
  if (rules.auth !== undefined) {
    // The next hop sees every authorization field; one token checked while another travels on
    // would let the unchecked one through, so a call carries one or none.
    let authorization: string | undefined;
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] !== "authorization") continue;
      if (authorization !== undefined) {
        return {
          code: Code.Unauthenticated,
          message: "more than one authorization header; send exactly one bearer token",
        };
      }
      authorization = headers[i + 1];
    }
    const decision = rules.auth.check(path, authorization);
    if (!decision.allowed) return decision;
  }
  const rawTimeout = headerValue(headers, "grpc-timeout");
  const timeoutMs = parseGrpcTimeout(rawTimeout);
  if (timeoutMs !== undefined && Number.isNaN(timeoutMs)) {
    return {
      code: Code.InvalidArgument,
      message: `malformed grpc-timeout "${String(rawTimeout)}"`,
    };
  }
  if (timeoutMs !== undefined && rules.maxTimeoutMs > 0 && timeoutMs > rules.maxTimeoutMs) {
    return {
      code: Code.InvalidArgument,
      message: `deadline of ${timeoutMs} ms is longer than the limit of ${rules.maxTimeoutMs} ms`,
    };
  }
  const hops = hopCount(headers);
  if (hops >= rules.maxHops) {
    return {
      code: Code.Unavailable,
      message: `call passed ${hops} proxies already: routing loop suspected`,
    };
  }
  return { deadlineAt: timeoutMs === undefined ? undefined : startedAt + timeoutMs };
}

export async function startRelayFront(options: RelayFrontOptions): Promise<RelayFront> {
  const { limits, logger: log } = options;
  const pool = createH2ClientPool({
    ...options.upstream,
    logger: log,
    ...(options.upstreamTls ? { tls: options.upstreamTls } : {}),
  });
  const socketDir = mkdtempSync(join(tmpdir(), "agentplatform-"));
  const cleanUp = () => {
    pool.close();
    rmSync(socketDir, { recursive: true, force: true });
  };
  let internal: Awaited<ReturnType<typeof startGrpcServer>>;
  try {
    internal = await startGrpcServer({
      ...options.internal,
      socketPath: join(socketDir, "internal.sock"),
      // Every caller's streams share the front's few connections to it.
      limits: { ...limits, maxConcurrentStreams: 65_535, idleTimeoutMs: 0, keepaliveTimeMs: 0 },
      logger: log,
    });
  } catch (err) {
    cleanUp();
    throw err;
  }
  const targets: RelayTargets = { pool, internalAddress: internal.address };
  const take = options.take(targets);
  let server: Awaited<ReturnType<typeof startH2Server>>;
  try {
    server = await startH2Server({
      host: options.host,
      port: options.port,
      limits,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.limitPeers === true ? { limitPeers: true } : {}),
      onIdleStream(stream) {
        const idleS = Math.round(limits.edge.idleStreamTimeoutMs / 1000);
        const message = `call moved no data for ${idleS} s and has no deadline; set a deadline or send within ${idleS} s`;
        const call = stream.handler;
        if (call instanceof RelayedCall && !call.finished) {
          call.fail(Code.DeadlineExceeded, message);
          return;
        }
        // Its status could not be delivered either (a caller that does not read): reset.
        stream.reset(ErrorCode.CANCEL);
        call?.onAbort(stream, ErrorCode.CANCEL, "reset");
      },
      onStream(stream, headers, _endStream, headerBytes) {
        const startedAt = performance.now();
        if (headerBytes > maxRequestHeaderBytes) {
          stream.sendHeaders(
            trailersOnlyList(
              Code.ResourceExhausted,
              `request headers of ${headerBytes} bytes exceed the limit of ${maxRequestHeaderBytes}`,
            ),
            true,
          );
          if (!stream.remoteEnded) stream.reset(ErrorCode.NO_ERROR);
          return;
        }
        try {
          if (take(stream, headers, startedAt)) return;
        } catch (err) {
          log.error("relay failed", { err, path: headerValue(headers, ":path") });
          const call = stream.handler;
          if (call instanceof RelayedCall) call.fail(Code.Internal, "failed to relay the call");
          else
            stream.sendHeaders(trailersOnlyList(Code.Internal, "failed to relay the call"), true);
          return;
        }
        new InternalCall(stream, headers, targets, startedAt).forward();
      },
      logger: log,
    });
  } catch (err) {
    await internal.close(0);
    cleanUp();
    throw err;
  }

  return {
    port: server.port,
    targets,
    activeStreams: () => server.activeStreams(),
    async close(graceMs) {
      await server.close(graceMs);
      await internal.close(Math.min(graceMs, 1000));
      cleanUp();
    },
  };
}
