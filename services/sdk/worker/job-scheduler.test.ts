import { describe, expect, it } from "vitest";
import { quietLogger } from "../test-support";
import { createJobScheduler } from "./job-scheduler";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("job scheduler", () => {
  it("looks once at start (as start-up), on each sweep, and again after a poke during a look", async () => {
    const looks: { slots: number; startup: boolean }[] = [];
    let cleanups = 0;
    let release: (() => void) | undefined;
    const scheduler = createJobScheduler({
      logger: quietLogger,
      sweepIntervalMs: 60_000,
      cleanupIntervalMs: 60_000,
      freeSlots: () => 3,
      async claim(slots, startup) {
        looks.push({ slots, startup });
        if (looks.length === 2) await new Promise<void>((r) => (release = r));
      },
      async cleanup() {
        cleanups++;
      },
    });
    await scheduler.start();
    expect(looks).toEqual([{ slots: 3, startup: true }]);
    expect(cleanups).toBe(1);
    scheduler.poke();
    // Pokes during a look coalesce into one more look after it.
    scheduler.poke();
    scheduler.poke();
    await sleep(20);
    expect(looks).toHaveLength(2);
    release?.();
    await sleep(20);
    expect(looks).toHaveLength(3);
    expect(looks[2]).toEqual({ slots: 3, startup: false });
    await scheduler.stop();
    scheduler.poke();
    await sleep(20);
    expect(looks).toHaveLength(3);
  });

  it("does not look without free slots, sweeps on its interval, and survives a failing look", async () => {
    let slots = 0;
    let looks = 0;
    const scheduler = createJobScheduler({
      logger: quietLogger,
      sweepIntervalMs: 30,
      cleanupIntervalMs: 0,
      freeSlots: () => slots,
      async claim() {
        looks++;
        throw new Error("store down");
      },
      async cleanup() {},
    });
    await scheduler.start();
    expect(looks).toBe(0);
    slots = 2;
    await sleep(200);
    expect(looks).toBeGreaterThanOrEqual(2);
    await scheduler.stop();
  });
});
