// Limits every gRPC server applies, from the environment (names from the seed design where it had them).
import type { EnvReader } from "./config";
import { defaultEdgeLimits, type EdgeLimits, readEdgeLimits } from "./h2/edge-limits";

export interface ServerLimits {
  /** Largest request or response message in bytes. Default 4 MiB (GRPC_MAX_MESSAGE_SIZE). */
  maxMessageBytes: number;
  /** Longest deadline a caller may ask for in ms; 0 for none. Default 10 minutes (GRPC_MAX_TIMEOUT_MS). */
  maxTimeoutMs: number;
  /** Concurrent streams per HTTP/2 connection. Default 256 (GRPC_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: number;
  /** Open connections at once. Default 4096 (GRPC_MAX_CONNECTIONS). */
  maxConnections: number;
  /** A connection with no frames for this long is closed gracefully. Default 5 minutes (GRPC_IDLE_TIMEOUT_MS). */
  idleTimeoutMs: number;
  /** Interval between keepalive pings; 0 for none. Default 30 s (GRPC_KEEPALIVE_TIME_MS). */
  keepaliveTimeMs: number;
  /** A ping unanswered for this long drops the connection. Default 10 s (GRPC_KEEPALIVE_TIMEOUT_MS). */
  keepaliveTimeoutMs: number;
  /** How long in-flight calls may run after a drain begins. Default 15 s (GRPC_SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
  /** What one HTTP/2 peer may make a platform/h2 server do (H2_* variables, docs/SECURITY.md). */
  edge: EdgeLimits;
}

export const defaultServerLimits: ServerLimits = {
  maxMessageBytes: 4 * 1024 * 1024,
  maxTimeoutMs: 10 * 60_000,
  maxConcurrentStreams: 256,
  maxConnections: 4096,
  idleTimeoutMs: 5 * 60_000,
  keepaliveTimeMs: 30_000,
  keepaliveTimeoutMs: 10_000,
  shutdownGraceMs: 15_000,
  edge: defaultEdgeLimits,
};

export function readServerLimits(env: EnvReader): ServerLimits {
  const d = defaultServerLimits;
  return {
    maxMessageBytes: env.int("GRPC_MAX_MESSAGE_SIZE", d.maxMessageBytes, {
      min: 1024,
      max: 1024 * 1024 * 1024,
    }),
    maxTimeoutMs: env.durationMs("GRPC_MAX_TIMEOUT_MS", d.maxTimeoutMs),
    maxConcurrentStreams: env.int("GRPC_MAX_CONCURRENT_STREAMS", d.maxConcurrentStreams, {
      min: 1,
      max: 65535,
    }),
    maxConnections: env.int("GRPC_MAX_CONNECTIONS", d.maxConnections, { min: 1 }),
    idleTimeoutMs: env.durationMs("GRPC_IDLE_TIMEOUT_MS", d.idleTimeoutMs),
    keepaliveTimeMs: env.durationMs("GRPC_KEEPALIVE_TIME_MS", d.keepaliveTimeMs),
    keepaliveTimeoutMs: env.durationMs("GRPC_KEEPALIVE_TIMEOUT_MS", d.keepaliveTimeoutMs),
    shutdownGraceMs: env.durationMs("GRPC_SHUTDOWN_GRACE_MS", d.shutdownGraceMs),
    edge: readEdgeLimits(env),
  };
}
