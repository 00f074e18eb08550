import { describe, expect, it } from "vitest";
import { bucketUpperMs, latencyBucket, latencyBucketCount, quantileMs } from "./latency-histogram";

function histogramOf(values: number[]): Uint32Array {
  const counts = new Uint32Array(latencyBucketCount);
  for (const v of values) counts[latencyBucket(v)] = (counts[latencyBucket(v)] ?? 0) + 1;
  return counts;
}

describe("latency histogram", () => {
  it("puts every duration in the bucket whose bounds contain it", () => {
    for (const ms of [0.011, 0.2, 1, 3.7, 42, 999, 12_345]) {
      const i = latencyBucket(ms);
      expect(ms).toBeLessThanOrEqual(bucketUpperMs(i) * (1 + 1e-9));
      expect(ms).toBeGreaterThan(bucketUpperMs(i - 1));
    }
  });

  it("reads percentiles within 5% of the exact values", () => {
    // 1..1000 ms uniformly: p50 = 500, p95 = 950, p99 = 990.
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    const counts = histogramOf(values);
    expect(quantileMs(counts, 0.5)).toBeGreaterThan(500 * 0.95);
    expect(quantileMs(counts, 0.5)).toBeLessThan(500 * 1.05);
    expect(quantileMs(counts, 0.95)).toBeGreaterThan(950 * 0.95);
    expect(quantileMs(counts, 0.95)).toBeLessThan(950 * 1.05);
    expect(quantileMs(counts, 0.99)).toBeGreaterThan(990 * 0.95);
    expect(quantileMs(counts, 0.99)).toBeLessThan(990 * 1.05);
  });

  it("sees a slow tail: 1% of calls at 200 ms move p99 but not p50", () => {
    const values = [
      ...Array.from({ length: 990 }, () => 0.4),
      ...Array.from({ length: 10 }, () => 200),
    ];
    const counts = histogramOf(values);
    expect(quantileMs(counts, 0.5)).toBeLessThan(0.45);
    expect(quantileMs(counts, 0.995)).toBeGreaterThan(190);
  });

  it("reads 0 from an empty histogram and clamps absurd durations", () => {
    expect(quantileMs(new Uint32Array(latencyBucketCount), 0.5)).toBe(0);
    expect(latencyBucket(-5)).toBe(0);
    expect(latencyBucket(Number.NaN)).toBe(0);
    expect(latencyBucket(1e12)).toBe(latencyBucketCount - 1);
  });
});
