"use client";
// A small SVG time-series chart: axes, legend with latest values, hover read-out; re-renders in place.
import { memo, type PointerEvent, useEffect, useRef, useState } from "react";
import { linePath, niceTicks, timeTicks } from "./chart-scale";
import { formatClock } from "./format";

export interface ChartSeries {
  label: string;
  /** A CSS color, usually one of the --chart-N variables. */
  color: string;
  values: readonly number[];
}

export interface LineChartProps {
  title: string;
  /** A short figure shown beside the legend, e.g. a related statistic the series do not plot. */
  note?: string | undefined;
  /** Sample times in ms since the epoch, oldest first; one per value in each series. */
  times: readonly number[];
  series: readonly ChartSeries[];
  format: (value: number) => string;
  /** Default 140. */
  height?: number;
  /** Visible time span; default 120,000 ms. */
  windowMs?: number;
  testId?: string;
  emptyText?: string;
}

const pad = { top: 8, right: 10, bottom: 20, left: 46 };

function useWidth() {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const element = ref.current;
    if (element === null) return;
    setWidth(element.clientWidth);
    const observer = new ResizeObserver((entries) => {
      const next = Math.round(entries[0]?.contentRect.width ?? 0);
      setWidth((previous) => (previous === next ? previous : next));
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width] as const;
}

export const LineChart = memo(function LineChart(props: LineChartProps) {
  const { title, times, series, format, height = 140, windowMs = 120_000, testId } = props;
  const [frameRef, width] = useWidth();
  const [hoverIndex, setHoverIndex] = useState<number | undefined>(undefined);

  const latestTime = times.at(-1) ?? 0;
  const fromMs = latestTime - windowMs;
  let max = 0;
  for (const s of series) for (const v of s.values) if (v > max) max = v;
  const ticks = niceTicks(max);
  const yTop = ticks.at(-1) ?? 1;
  const plotWidth = Math.max(0, width - pad.left - pad.right);
  const plotHeight = height - pad.top - pad.bottom;
  const x = (t: number) => pad.left + ((t - fromMs) / windowMs) * plotWidth;
  const y = (v: number) => pad.top + plotHeight - (v / yTop) * plotHeight;
  const xs = times.map(x);
  const stepMs = plotWidth < 360 ? 60_000 : 30_000;
  const hasData = times.length > 0;

  function onPointerMove(event: PointerEvent<SVGSVGElement>) {
    if (!hasData) return;
    const box = event.currentTarget.getBoundingClientRect();
    const px = event.clientX - box.left;
    let best = 0;
    let bestDistance = Number.POSITIVE_INFINITY;
    xs.forEach((value, i) => {
      const distance = Math.abs(value - px);
      if (distance < bestDistance) {
        bestDistance = distance;
        best = i;
      }
    });
    setHoverIndex(best);
  }

  const hoverX = hoverIndex !== undefined ? xs[hoverIndex] : undefined;
  const summary = series.map((s) => `${s.label} ${format(s.values.at(-1) ?? 0)}`).join(", ");

  return (
    <figure className="card chart-card" data-testid={testId} style={{ margin: 0 }}>
      <div className="chart-head">
        <figcaption className="chart-title">{title}</figcaption>
        <div className="chart-legend">
          {series.map((s) => {
            const latest = s.values.at(-1);
            return (
              <span key={s.label} data-series={s.label} data-value={latest ?? ""}>
                <span className="swatch" style={{ background: s.color }} />
                {s.label}
                <span className="value">{latest === undefined ? "–" : format(latest)}</span>
              </span>
            );
          })}
          {props.note !== undefined && (
            <span
              className="muted"
              data-testid={testId === undefined ? undefined : `${testId}-note`}
            >
              {props.note}
            </span>
          )}
        </div>
      </div>
      <div className="chart-frame" ref={frameRef} style={{ height }}>
        {width > 0 && (
          <svg
            width={width}
            height={height}
            role="img"
            aria-label={`${title}: ${hasData ? summary : "no data yet"}`}
            onPointerMove={onPointerMove}
            onPointerLeave={() => setHoverIndex(undefined)}
          >
            {ticks.map((tick) => (
              <g key={tick}>
                <line
                  className="grid-line"
                  x1={pad.left}
                  x2={width - pad.right}
                  y1={y(tick)}
                  y2={y(tick)}
                />
                <text className="axis-label" x={pad.left - 6} y={y(tick) + 3.5} textAnchor="end">
                  {format(tick)}
                </text>
              </g>
            ))}
            {hasData &&
              timeTicks(fromMs, latestTime, stepMs).map((t) => (
                <text key={t} className="axis-label" x={x(t)} y={height - 5} textAnchor="middle">
                  {formatClock(t)}
                </text>
              ))}
            {series.map((s, i) => {
              const ys = s.values.map(y);
              const d = linePath(xs, ys);
              const first = xs[0];
              const last = xs.at(-1);
              return (
                <g key={s.label}>
                  {i === 0 && d !== "" && first !== undefined && last !== undefined && (
                    <path
                      className="area"
                      style={{ fill: s.color }}
                      d={`${d}L${last.toFixed(1)},${y(0)}L${first.toFixed(1)},${y(0)}Z`}
                    />
                  )}
                  <path className="series" style={{ stroke: s.color }} d={d} />
                </g>
              );
            })}
            {hoverX !== undefined && (
              <line
                className="cursor"
                x1={hoverX}
                x2={hoverX}
                y1={pad.top}
                y2={pad.top + plotHeight}
              />
            )}
          </svg>
        )}
        {!hasData && <div className="chart-empty">{props.emptyText ?? "Waiting for data…"}</div>}
        {hoverIndex !== undefined && hoverX !== undefined && (
          <div
            className="chart-tooltip"
            style={hoverX > width / 2 ? { right: width - hoverX + 8 } : { left: hoverX + 8 }}
          >
            <div className="muted">{formatClock(times[hoverIndex] ?? 0)}</div>
            {series.map((s) => (
              <div key={s.label}>
                <span className="swatch" style={{ background: s.color }} /> {s.label}{" "}
                <strong>{format(s.values[hoverIndex] ?? 0)}</strong>
              </div>
            ))}
          </div>
        )}
      </div>
    </figure>
  );
});
