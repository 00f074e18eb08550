// A run's spans laid out as a waterfall: each span under its parent (earliest first), with its
// offset and width as shares of the whole trace.
import type { TraceSpan } from "../gen/agentplatform/v1/trace_pb";

export interface WaterfallRow {
  span: TraceSpan;
  depth: number;
  /** Start after the trace's first span, in ms. */
  offsetMs: number;
  /** 0–100. */
  leftPct: number;
  /** 0–100, at least a sliver so instant spans stay visible. */
  widthPct: number;
  /** Retries recorded on this span. */
  retries: number;
}

export function waterfallRows(spans: readonly TraceSpan[]): WaterfallRow[] {
  if (spans.length === 0) return [];
  const start = Math.min(...spans.map((s) => s.startMs));
  const end = Math.max(...spans.map((s) => s.startMs + s.durationMs));
  const total = Math.max(end - start, 0.001);
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, TraceSpan[]>();
  const roots: TraceSpan[] = [];
  for (const span of spans) {
    // A span whose parent is not here (the caller's own, or one not yet exported) starts a tree.
    if (span.parentSpanId === "" || !ids.has(span.parentSpanId)) roots.push(span);
    else children.set(span.parentSpanId, [...(children.get(span.parentSpanId) ?? []), span]);
  }
  const rows: WaterfallRow[] = [];
  const byStart = (a: TraceSpan, b: TraceSpan) => a.startMs - b.startMs;
  const visit = (span: TraceSpan, depth: number, seen: Set<string>) => {
    if (seen.has(span.spanId)) return;
    seen.add(span.spanId);
    const offsetMs = span.startMs - start;
    rows.push({
      span,
      depth,
      offsetMs,
      leftPct: (offsetMs / total) * 100,
      widthPct: Math.max((span.durationMs / total) * 100, 0.5),
      retries: span.events.filter((e) => e.name === "retry").length,
    });
    for (const child of (children.get(span.spanId) ?? []).sort(byStart)) {
      visit(child, depth + 1, seen);
    }
  };
  const seen = new Set<string>();
  for (const root of roots.sort(byStart)) visit(root, 0, seen);
  return rows;
}
