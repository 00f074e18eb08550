import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { MetricsPointSchema } from "../gen/agentplatform/v1/console_pb";
import { goldenSeries, latencyTitle, streamFirstMessageNote } from "./golden-charts";

const point = (atMs: number, p99Ms: number, timeToFirstMessageP50Ms: number) =>
  create(MetricsPointSchema, {
    atMs: BigInt(atMs),
    stats: { requestsPerSecond: 10, p50Ms: 2, p95Ms: 3, p99Ms, timeToFirstMessageP50Ms },
  });

describe("golden charts", () => {
  it("titles latency as unary and notes the latest stream first-message p50", () => {
    const g = goldenSeries([point(1_000, 4, 0), point(2_000, 5, 42)]);
    expect(latencyTitle).toBe("Latency (unary)");
    expect(g.latency.find((s) => s.label === "p99")?.values).toEqual([4, 5]);
    expect(g.streamFirstMessageMs).toBe(42);
    expect(streamFirstMessageNote(g.streamFirstMessageMs)).toBe("streams: first message p50 42 ms");
  });

  it("shows no stream figure when no stream reported a first message", () => {
    const g = goldenSeries([point(1_000, 4, 30), point(2_000, 5, 0)]);
    expect(g.streamFirstMessageMs).toBeUndefined();
    expect(streamFirstMessageNote(g.streamFirstMessageMs)).toBeUndefined();
  });
});
