import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { TraceSpanSchema } from "../gen/agentplatform/v1/trace_pb";
import { waterfallRows } from "./trace-waterfall";

const span = (spanId: string, parentSpanId: string, startMs: number, durationMs: number) =>
  create(TraceSpanSchema, { spanId, parentSpanId, startMs, durationMs, service: spanId });

describe("waterfallRows", () => {
  it("puts each span under its parent, earliest first, scaled to the whole trace", () => {
    const rows = waterfallRows([
      span("agent", "attempt2", 1006, 2),
      span("gw", "", 1000, 10),
      span("attempt2", "router", 1005, 4),
      span("router", "gw", 1001, 8),
      span("attempt1", "router", 1002, 1),
    ]);
    expect(rows.map((r) => [r.span.spanId, r.depth])).toEqual([
      ["gw", 0],
      ["router", 1],
      ["attempt1", 2],
      ["attempt2", 2],
      ["agent", 3],
    ]);
    expect(rows[0]?.leftPct).toBe(0);
    expect(rows[0]?.widthPct).toBe(100);
    expect(rows[4]?.leftPct).toBeCloseTo(60);
    expect(rows[4]?.widthPct).toBeCloseTo(20);
  });

  it("shows spans whose parent is missing as roots, and nothing for no spans", () => {
    const rows = waterfallRows([span("orphan", "gone", 5, 1), span("root", "", 4, 3)]);
    expect(rows.map((r) => [r.span.spanId, r.depth])).toEqual([
      ["root", 0],
      ["orphan", 0],
    ]);
    expect(waterfallRows([])).toEqual([]);
  });
});
