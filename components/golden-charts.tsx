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
  latency: ChartSeries[];
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
        title="Latency"
        times={g.times}
        series={g.latency}
        format={formatMs}
        testId={`${testIdPrefix}-latency`}
        {...common}
      />
    </div>
  );
}
