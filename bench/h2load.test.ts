import { describe, expect, it } from "vitest";
import { parseH2load } from "./h2load";

const summary = `
finished in 3.00s, 324.00 req/s, 43.04KB/s
requests: 648 total, 647 started, 648 done, 646 succeeded, 1 failed, 1 errored, 0 timeout
status codes: 650 2xx, 0 3xx, 2 4xx, 1 5xx
`;

describe("h2load output", () => {
  it("reads throughput, failures and latency percentiles from the summary and log", () => {
    // 100 requests taking 1..100 ms (log columns: start µs, HTTP status, µs to the end).
    const log = Array.from(
      { length: 100 },
      (_, i) => `17000000${i}\t200\t${(100 - i) * 1000}`,
    ).join("\n");
    const result = parseH2load(summary, `${log}\n`);
    expect(result.requestsPerSecond).toBe(324);
    expect(result.done).toBe(648);
    expect(result.succeeded).toBe(646);
    expect(result.unsuccessful).toBe(2);
    expect(result.non2xx).toBe(3);
    expect(result.p50Ms).toBe(51);
    expect(result.p99Ms).toBe(100);
  });

  it("refuses output it does not understand instead of reporting zeros", () => {
    expect(() => parseH2load("connection refused", "")).toThrow(/unexpected h2load output/);
  });
});
