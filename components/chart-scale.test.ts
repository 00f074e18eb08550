import { describe, expect, it } from "vitest";
import { linePath, niceTicks, timeTicks } from "./chart-scale";

describe("chart axes", () => {
  it("rounds the top tick up to a readable number that covers the data", () => {
    expect(niceTicks(87)).toEqual([0, 50, 100]);
    expect(niceTicks(0.37)).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
    expect(niceTicks(1234).at(-1)).toBeGreaterThanOrEqual(1234);
  });

  it("gives an idle series a visible 0..1 axis instead of a collapsed one", () => {
    expect(niceTicks(0)).toEqual([0, 0.5, 1]);
  });

  it("puts time ticks on whole multiples of the step", () => {
    expect(timeTicks(61_000, 185_000, 60_000)).toEqual([120_000, 180_000]);
  });

  it("breaks the line where a value is missing", () => {
    expect(linePath([0, 10, 20, 30], [5, Number.NaN, 7, 8])).toBe("M0.0,5.0M20.0,7.0L30.0,8.0");
  });
});
