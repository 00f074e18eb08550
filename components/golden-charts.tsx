"use client";
// The golden signals of one metrics source: traffic, errors and latency percentiles.
import { useMemo } from "react";
import type { MetricsPoint } from "../gen/agentplatform/v1/console_pb";
import { formatMs, formatPercent, formatRate } from "./format";
import { type ChartSeries, LineChart } from "./line-chart";

export interface GoldenSeries {
  times: number[];
  rps: ChartSeries[];
  errorRate: ChartSeries[];
  /** Unary calls only: a stream's duration is how long it stayed open, not latency. */
  latency: ChartSeries[];
  /** Median time to a stream's first message at the latest point; undefined with no streams. */
  streamFirstMessageMs: number | undefined;
}

export const latencyTitle = "Latency (unary)";

/** The figure shown beside the latency chart when streams reported a first message. */
export function streamFirstMessageNote(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : `streams: first message p50 ${formatMs(ms)}`;
}

/** Splits metrics points into chart series; error rate is errors over requests per window. */
export function goldenSeries(points: readonly MetricsPoint[]): GoldenSeries {
  const times = points.map((p) => Number(p.atMs));
  const rps = points.map((p) => p.stats?.requestsPerSecond ?? 0);
  const errors = points.map((p) => p.stats?.errorsPerSecond ?? 0);
  const errorRate = points.map((p) => {
    const requests = p.stats?.requestsPerSecond ?? 0;
    return requests > 0 ? (p.stats?.errorsPerSecond ?? 0) / requests : 0;
  });
  const firstMessage = points.at(-1)?.stats?.timeToFirstMessageP50Ms ?? 0;
  const pick = (f: (s: NonNullable<MetricsPoint["stats"]>) => number) =>
    points.map((p) => (p.stats === undefined ? 0 : f(p.stats)));
  return {
    times,
    rps: [
      { label: "requests/s", color: "var(--chart-1)", values: rps },
      { label: "errors/s", color: "var(--chart-2)", values: errors },
    ],
    errorRate: [{ label: "error rate", color: "var(--chart-2)", values: errorRate }],
    latency: [
      { label: "p50", color: "var(--chart-3)", values: pick((s) => s.p50Ms) },
      { label: "p95", color: "var(--chart-1)", values: pick((s) => s.p95Ms) },
      { label: "p99", color: "var(--chart-4)", values: pick((s) => s.p99Ms) },
    ],
    streamFirstMessageMs: firstMessage > 0 ? firstMessage : undefined,
  };
}

export function GoldenCharts({
  points,
  testIdPrefix,
  height,
}: {
  points: readonly MetricsPoint[];
  testIdPrefix: string;
  height?: number;
}) {
  const g = useMemo(() => goldenSeries(points), [points]);
  const common = height === undefined ? {} : { height };
  return (
    <div className="grid-3">
      <LineChart
        title="Traffic"
        times={g.times}
        series={g.rps}
        format={formatRate}
        testId={`${testIdPrefix}-rps`}
        {...common}
      />
      <LineChart
        title="Error rate"
        times={g.times}
        series={g.errorRate}
        format={formatPercent}
        testId={`${testIdPrefix}-errors`}
        {...common}
      />
      <LineChart
        title={latencyTitle}
        note={streamFirstMessageNote(g.streamFirstMessageMs)}
        times={g.times}
        series={g.latency}
        format={formatMs}
        testId={`${testIdPrefix}-latency`}
        {...common}
      />
    </div>
  );
}
