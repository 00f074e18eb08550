import { describe, expect, it } from "vitest";
import type { CellSample } from "./measure-cell";
import { formatTable, summarizeCells } from "./result-table";

describe("benchmark result table", () => {
  it("pairs each round with direct's to get the ratio, and reports the median round", () => {
    const sample = (target: string, round: number, rps: number): CellSample => ({
      target,
      round,
      connections: 4,
      streams: 10,
      result: {
        requestsPerSecond: rps,
        done: rps,
        succeeded: rps,
        unsuccessful: 0,
        non2xx: 0,
        p50Ms: rps / 1000,
        p99Ms: 2,
      },
      hopCpuMicros: target === "direct" ? undefined : 50 * rps,
      backendCpuMicros: 250 * rps,
      agentOk: rps,
      agentNotOk: new Map(),
    });
    // The machine slows down in round 1: paired ratios stay at 0.85 while raw rates swing.
    const rows = summarizeCells([
      sample("direct", 0, 4000),
      sample("router", 0, 3400),
      sample("direct", 1, 2000),
      sample("router", 1, 1700),
      sample("direct", 2, 4200),
      sample("router", 2, 3570),
    ]);
    const router = rows.find((r) => r.target === "router");
    expect(router?.ratioToDirect).toBeCloseTo(0.85);
    expect(router?.requestsPerSecond).toBe(3400);
    expect(router?.hopMicrosPerCall).toBeCloseTo(50);
    const table = formatTable(rows);
    expect(table).toContain(
      "| router | 4×10 | 3400 | 1700–3570 | 0.85× | 3.40 | 2.00 | 50 | 250 | 0 |",
    );
    expect(table).toContain(
      "| direct | 4×10 | 4000 | 2000–4200 | 1.00× | 4.00 | 2.00 | – | 250 | 0 |",
    );
  });

  it("counts agent errors and empty rounds as failures", () => {
    const rows = summarizeCells([
      {
        target: "nginx",
        round: 0,
        connections: 1,
        streams: 1,
        result: {
          requestsPerSecond: 0,
          done: 0,
          succeeded: 0,
          unsuccessful: 0,
          non2xx: 0,
          p50Ms: 0,
          p99Ms: 0,
        },
        hopCpuMicros: 10,
        backendCpuMicros: 10,
        agentOk: 0,
        agentNotOk: new Map([["Unavailable", 3]]),
      },
    ]);
    expect(rows[0]?.failed).toBe(4);
    expect(rows[0]?.failures).toContain("3 Unavailable from the agent");
  });
});
