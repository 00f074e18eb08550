// Limits that bound what one HTTP/2 peer can make this process do: per header block, per
// connection's control frames and resets, per stream's idle time, per peer address. Defaults
// follow what nghttp2, Go's x/net/http2, Envoy and HAProxy ship (docs/SECURITY.md cites them).
import type { EnvReader } from "../config";

export interface EdgeLimits {
  /** CONTINUATION frames one header block may span. Default 8, nghttp2's (H2_MAX_CONTINUATIONS). */
  maxContinuationFrames: number;
  /** A header block must be complete within this long. Default 5 s (H2_HEADER_BLOCK_TIMEOUT_MS). */
  headerBlockTimeoutMs: number;
  /**
   * Answers to the peer's frames (PING and SETTINGS acknowledgements, RST_STREAM) queued while
   * the peer is not reading. Past a tenth of it the peer's socket is no longer read; past it the
   * connection ends with ENHANCE_YOUR_CALM. Default 1000, nghttp2's max_outbound_ack
   * (H2_MAX_QUEUED_CONTROL_FRAMES).
   */
  maxQueuedControlFrames: number;
  /** A peer that has not read for this long while answers wait ends with ENHANCE_YOUR_CALM. Default 10 s (H2_STALLED_PEER_TIMEOUT_MS). */
  stalledPeerTimeoutMs: number;
  /** Streams the peer may reset (or that end in a stream error) at once before the rate applies. Default 1000, nghttp2's (H2_RESET_BURST). */
  resetBurst: number;
  /** Resets per second the budget regains. Default 33, nghttp2's (H2_RESET_RATE). */
  resetRatePerSecond: number;
  /** Our SETTINGS must be acknowledged within this long (SETTINGS_TIMEOUT). Default 10 s (H2_SETTINGS_TIMEOUT_MS). */
  settingsTimeoutMs: number;
  /** Settings one SETTINGS frame may carry. Default 32, nghttp2's (H2_MAX_SETTINGS). */
  maxSettingsPerFrame: number;
  /**
   * A request stream with no deadline that moves no data either way for this long is ended
   * (DEADLINE_EXCEEDED); 0 for never. Default 5 minutes (H2_IDLE_STREAM_TIMEOUT_MS).
   */
  idleStreamTimeoutMs: number;
  /** Connections one peer address may hold open; 0 for no limit. Default 256 (H2_MAX_CONNECTIONS_PER_PEER). */
  maxConnectionsPerPeer: number;
  /** Request streams one peer address may have open over all its connections; 0 for no limit. Default 2048 (H2_MAX_STREAMS_PER_PEER). */
  maxStreamsPerPeer: number;
  /**
   * Browser endpoint (node:http2): a connection with no frames either way for this long is
   * closed with GOAWAY, and dropped 5 s later if streams keep it open. Default 60 s
   * (H2_SILENT_CONNECTION_TIMEOUT_MS).
   */
  silentConnectionTimeoutMs: number;
}

export const defaultEdgeLimits: EdgeLimits = {
  maxContinuationFrames: 8,
  headerBlockTimeoutMs: 5000,
  maxQueuedControlFrames: 1000,
  stalledPeerTimeoutMs: 10_000,
  resetBurst: 1000,
  resetRatePerSecond: 33,
  settingsTimeoutMs: 10_000,
  maxSettingsPerFrame: 32,
  idleStreamTimeoutMs: 5 * 60_000,
  maxConnectionsPerPeer: 256,
  maxStreamsPerPeer: 2048,
  silentConnectionTimeoutMs: 60_000,
};

export function readEdgeLimits(env: EnvReader): EdgeLimits {
  const d = defaultEdgeLimits;
  return {
    maxContinuationFrames: env.int("H2_MAX_CONTINUATIONS", d.maxContinuationFrames, {
      min: 0,
      max: 1024,
    }),
    headerBlockTimeoutMs: env.durationMs("H2_HEADER_BLOCK_TIMEOUT_MS", d.headerBlockTimeoutMs),
    maxQueuedControlFrames: env.int("H2_MAX_QUEUED_CONTROL_FRAMES", d.maxQueuedControlFrames, {
      min: 10,
      max: 1_000_000,
    }),
    stalledPeerTimeoutMs: env.durationMs("H2_STALLED_PEER_TIMEOUT_MS", d.stalledPeerTimeoutMs),
    resetBurst: env.int("H2_RESET_BURST", d.resetBurst, { min: 1, max: 1_000_000 }),
    resetRatePerSecond: env.int("H2_RESET_RATE", d.resetRatePerSecond, { min: 0, max: 1_000_000 }),
    settingsTimeoutMs: env.durationMs("H2_SETTINGS_TIMEOUT_MS", d.settingsTimeoutMs),
    maxSettingsPerFrame: env.int("H2_MAX_SETTINGS", d.maxSettingsPerFrame, { min: 6, max: 1000 }),
    idleStreamTimeoutMs: env.durationMs("H2_IDLE_STREAM_TIMEOUT_MS", d.idleStreamTimeoutMs),
    maxConnectionsPerPeer: env.int("H2_MAX_CONNECTIONS_PER_PEER", d.maxConnectionsPerPeer, {
      min: 0,
    }),
    maxStreamsPerPeer: env.int("H2_MAX_STREAMS_PER_PEER", d.maxStreamsPerPeer, { min: 0 }),
    silentConnectionTimeoutMs: env.durationMs(
      "H2_SILENT_CONNECTION_TIMEOUT_MS",
      d.silentConnectionTimeoutMs,
    ),
  };
}
