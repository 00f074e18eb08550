import { describe, expect, it } from "vitest";
import { WindowSeries } from "./window-series";

const second = (s: number, ms = 0) => s * 1000 + ms;

describe("WindowSeries", () => {
  it("reports the last complete second, not the one being written", () => {
    const w = new WindowSeries();
    for (let i = 0; i < 50; i++) w.record(second(100, i * 10), 2, i % 10 === 0, 1, undefined);
    // Still inside second 100: nothing complete yet.
    expect(w.summarize(second(100, 999), 1).requestsPerSecond).toBe(0);
    const s = w.summarize(second(101, 1), 1);
    expect(s.requestsPerSecond).toBe(50);
    expect(s.errorsPerSecond).toBe(5);
    expect(s.messagesPerSecond).toBe(50);
    expect(s.p50Ms).toBeGreaterThan(1.9);
    expect(s.p50Ms).toBeLessThan(2.1);
  });

  it("averages a 10 s window and forgets seconds that rolled out of it", () => {
    const w = new WindowSeries();
    for (let s = 0; s < 10; s++) {
      for (let i = 0; i < (s + 1) * 10; i++) w.record(second(200 + s, i), 1, false, 1, undefined);
    }
    // Seconds 200..209 hold 10, 20, ..., 100 calls: 550 in 10 s.
    expect(w.summarize(second(210), 10).requestsPerSecond).toBeCloseTo(55);
    expect(w.summarize(second(210), 1).requestsPerSecond).toBe(100);
    // Five seconds later only 205..209 remain in the window: 60+70+80+90+100 = 400.
    expect(w.summarize(second(215), 10).requestsPerSecond).toBeCloseTo(40);
    // After a long idle gap nothing is left, even where the ring slot was never overwritten.
    expect(w.summarize(second(300), 10).requestsPerSecond).toBe(0);
  });

  it("clears a reused slot before counting into it", () => {
    const w = new WindowSeries();
    for (let i = 0; i < 30; i++) w.record(second(1000, i), 500, true, 1, undefined);
    // Second 1011 lands in the same ring slot as 1000.
    w.record(second(1011, 5), 1, false, 1, undefined);
    const s = w.summarize(second(1012), 1);
    expect(s.requestsPerSecond).toBe(1);
    expect(s.errorsPerSecond).toBe(0);
    expect(s.p99Ms).toBeLessThan(1.1);
  });

  it("tracks time to first message only for calls that report it", () => {
    const w = new WindowSeries();
    w.record(second(50, 1), 100, false, 10, 5);
    w.record(second(50, 2), 100, false, 10, 5);
    w.record(second(50, 3), 1, false, 1, undefined);
    const s = w.summarize(second(51), 1);
    expect(s.timeToFirstMessageP50Ms).toBeGreaterThan(4.7);
    expect(s.timeToFirstMessageP50Ms).toBeLessThan(5.3);
    expect(s.messagesPerSecond).toBe(21);
  });
});
