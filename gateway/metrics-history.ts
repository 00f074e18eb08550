// Router statistics sampled once a second into per-series ring buffers ("cluster" plus one per
// router), kept whether or not anyone watches so a chart opened later starts full.
import { create } from "@bufbuild/protobuf";
import {
  type MetricsPoint,
  MetricsPointSchema,
  type MetricsSeries,
  MetricsSeriesSchema,
} from "../gen/agentplatform/v1/console_pb";
import {
  type MethodStats,
  MethodStatsSchema,
  type RouterStats,
  type WindowStats,
  WindowStatsSchema,
} from "../gen/agentplatform/v1/router_admin_pb";
import type { Logger } from "../platform/log";
import type { RouterFleet } from "./router-fleet";

export const clusterSource = "cluster";

export interface MetricsTick {
  /** One new point per series sampled this tick. */
  points: Map<string, MetricsPoint>;
  methods: MethodStats[];
}

export interface MetricsHistory {
  /** Up to `points` most recent points of every series, oldest first. */
  series(points?: number): MetricsSeries[];
  /** Per-method statistics merged over the routers at the last sample. */
  methods(): MethodStats[];
  subscribe(listener: (tick: MetricsTick) => void): () => void;
  /** Samples now (tests; the timer does it every interval). */
  sample(): Promise<void>;
  stop(): void;
}

export interface MetricsHistoryOptions {
  fleet: RouterFleet;
  logger: Logger;
  /** Sampling interval in ms. Default 1000. */
  intervalMs?: number;
  /** Points kept per series. Default 120. */
  capacity?: number;
}

/**
 * Sums rates and counts over routers. Routers report percentiles, not histograms, so the
 * merged percentile is the largest one: an upper bound, never an optimistic average.
 */
export function mergeWindows(windows: readonly (WindowStats | undefined)[]): WindowStats {
  const out = create(WindowStatsSchema);
  for (const w of windows) {
    if (!w) continue;
    out.requestsPerSecond += w.requestsPerSecond;
    out.errorsPerSecond += w.errorsPerSecond;
    out.messagesPerSecond += w.messagesPerSecond;
    out.activeStreams += w.activeStreams;
    out.p50Ms = Math.max(out.p50Ms, w.p50Ms);
    out.p95Ms = Math.max(out.p95Ms, w.p95Ms);
    out.p99Ms = Math.max(out.p99Ms, w.p99Ms);
    out.timeToFirstMessageP50Ms = Math.max(out.timeToFirstMessageP50Ms, w.timeToFirstMessageP50Ms);
  }
  return out;
}

export function mergeMethods(stats: readonly RouterStats[]): MethodStats[] {
  const byMethod = new Map<string, MethodStats[]>();
  for (const s of stats) {
    for (const m of s.methods) byMethod.set(m.method, [...(byMethod.get(m.method) ?? []), m]);
  }
  return [...byMethod]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([method, list]) =>
      create(MethodStatsSchema, {
        method,
        window: mergeWindows(list.map((m) => m.window)),
        totalCalls: list.reduce((sum, m) => sum + m.totalCalls, 0n),
        totalErrors: list.reduce((sum, m) => sum + m.totalErrors, 0n),
      }),
    );
}

export function createMetricsHistory(options: MetricsHistoryOptions): MetricsHistory {
  const { fleet, logger: log } = options;
  const intervalMs = options.intervalMs ?? 1000;
  const capacity = options.capacity ?? 120;
  const rings = new Map<string, MetricsPoint[]>();
  const listeners = new Set<(tick: MetricsTick) => void>();
  let lastMethods: MethodStats[] = [];
  let sampling = false;

  const push = (source: string, point: MetricsPoint) => {
    let ring = rings.get(source);
    if (!ring) {
      ring = [];
      rings.set(source, ring);
    }
    ring.push(point);
    if (ring.length > capacity) ring.splice(0, ring.length - capacity);
  };

  async function sample() {
    // A slow router must not pile up overlapping samples.
    if (sampling) return;
    sampling = true;
    try {
      const routers = fleet.healthy();
      const signal = AbortSignal.timeout(Math.max(250, intervalMs - 100));
      const results = await Promise.allSettled(routers.map((r) => fleet.stats(r, signal)));
      const at = BigInt(Date.now());
      const points = new Map<string, MetricsPoint>();
      const stats: RouterStats[] = [];
      results.forEach((result, i) => {
        if (result.status === "rejected") {
          log.debug("router stats unavailable", { router: routers[i]?.instanceId });
          return;
        }
        stats.push(result.value);
        const source = result.value.routerId || routers[i]?.instanceId || "router";
        points.set(
          source,
          create(MetricsPointSchema, { atMs: at, stats: mergeWindows([result.value.total]) }),
        );
      });
      points.set(
        clusterSource,
        create(MetricsPointSchema, { atMs: at, stats: mergeWindows(stats.map((s) => s.total)) }),
      );
      for (const [source, point] of points) push(source, point);
      // Series of routers gone for longer than the window hold nothing worth drawing.
      const oldest = Date.now() - capacity * intervalMs;
      for (const [source, ring] of rings) {
        const last = ring[ring.length - 1];
        if (source !== clusterSource && last && Number(last.atMs) < oldest) rings.delete(source);
      }
      lastMethods = mergeMethods(stats);
      for (const l of listeners) l({ points, methods: lastMethods });
    } finally {
      sampling = false;
    }
  }

  const timer = setInterval(() => void sample(), intervalMs);
  timer.unref();

  return {
    series(points = capacity) {
      const n = Math.max(1, Math.min(points, capacity));
      return [...rings]
        .sort(([a], [b]) =>
          a === clusterSource ? -1 : b === clusterSource ? 1 : a.localeCompare(b),
        )
        .map(([source, ring]) => create(MetricsSeriesSchema, { source, points: ring.slice(-n) }));
    },
    methods: () => lastMethods,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    sample,
    stop() {
      clearInterval(timer);
      listeners.clear();
    },
  };
}
