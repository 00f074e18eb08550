// Turns the recorder's counters into the RouterStats message served by RouterAdmin.
import { create } from "@bufbuild/protobuf";
import {
  type BackendInstanceStats,
  BackendInstanceStatsSchema,
  type MethodStats,
  MethodStatsSchema,
  type RouterStats,
  RouterStatsSchema,
  type WindowStats,
  WindowStatsSchema,
} from "../../gen/agentplatform/v1/router_admin_pb";
import type { RecorderState } from "./call-recorder";
import type { WindowSeries } from "./window-series";

/**
 * Counters and windowed statistics over the last `windowSeconds` complete seconds (default 1).
 * Identity fields (router_id, address, version, started_at_ms, draining) are left for the caller.
 */
export function routerStatsSnapshot(state: RecorderState, windowSeconds = 1): RouterStats {
  const at = state.now();
  forgetIdleBackends(state, at);

  const methods: MethodStats[] = [];
  for (const m of sortedValues(state.methods)) {
    methods.push(
      create(MethodStatsSchema, {
        method: m.method,
        window: windowStats(m.window, at, windowSeconds, m.activeStreams),
        totalCalls: BigInt(m.totalCalls),
        totalErrors: BigInt(m.totalErrors),
      }),
    );
  }
  const backends: BackendInstanceStats[] = [];
  for (const b of sortedValues(state.backends)) {
    backends.push(
      create(BackendInstanceStatsSchema, {
        service: b.service,
        address: b.address,
        window: windowStats(b.window, at, windowSeconds, b.activeStreams),
        inFlight: b.inFlight,
        ejected: b.ejected,
        consecutiveFailures: b.consecutiveFailures,
      }),
    );
  }
  let retries = 0;
  let ejections = 0;
  for (const s of state.services.values()) {
    retries += s.retries;
    ejections += s.ejections;
  }
  const total = state.total;
  return create(RouterStatsSchema, {
    sampledAtMs: BigInt(Math.round(at)),
    total: windowStats(total.window, at, windowSeconds, total.activeStreams),
    methods,
    backends,
    inFlight: total.inFlight,
    totalCalls: BigInt(total.totalCalls),
    totalErrors: BigInt(total.totalErrors),
    retries: BigInt(retries),
    ejections: BigInt(ejections),
    dialInLinks: state.dialInLinks(),
  });
}

function windowStats(
  window: WindowSeries,
  at: number,
  seconds: number,
  activeStreams: number,
): WindowStats {
  const w = window.summarize(at, seconds);
  return create(WindowStatsSchema, {
    requestsPerSecond: w.requestsPerSecond,
    errorsPerSecond: w.errorsPerSecond,
    p50Ms: w.p50Ms,
    p95Ms: w.p95Ms,
    p99Ms: w.p99Ms,
    timeToFirstMessageP50Ms: w.timeToFirstMessageP50Ms,
    messagesPerSecond: w.messagesPerSecond,
    activeStreams,
  });
}

/** Drops instances that left the registry long ago, so a churning fleet does not grow memory. */
export function forgetIdleBackends(state: RecorderState, at: number): void {
  for (const [address, b] of state.backends) {
    if (b.inFlight === 0 && !b.ejected && at - b.lastSeenMs > state.backendIdleMs) {
      state.backends.delete(address);
    }
  }
}

function sortedValues<T>(map: Map<string, T>): T[] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}
