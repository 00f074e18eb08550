// Measures how smooth a page is from inside the browser: long tasks (PerformanceObserver
// "longtask") and the interval between animation frames while a measurement is running.
import type { Page } from "@playwright/test";

declare global {
  interface Window {
    __timing?: { longTasks: number[]; frames: number[]; measuring: boolean };
  }
}

/** Must run before the page loads (it installs the observers). */
export async function installTiming(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const timing = { longTasks: [] as number[], frames: [] as number[], measuring: false };
    window.__timing = timing;
    try {
      new PerformanceObserver((list) => {
        if (!timing.measuring) return;
        for (const entry of list.getEntries()) timing.longTasks.push(entry.duration);
      }).observe({ type: "longtask", buffered: false });
    } catch {
      // Browsers without long-task timing still report frame intervals.
    }
    let last = 0;
    const tick = (now: number) => {
      if (timing.measuring && last > 0) timing.frames.push(now - last);
      last = now;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

export async function startMeasuring(page: Page): Promise<void> {
  await page.evaluate(() => {
    const t = window.__timing;
    if (t === undefined) throw new Error("installTiming was not called before the page loaded");
    t.longTasks = [];
    t.frames = [];
    t.measuring = true;
  });
}

export interface TimingReport {
  frames: number;
  frameP50Ms: number;
  frameP95Ms: number;
  frameP99Ms: number;
  frameMaxMs: number;
  longTasks: number;
  longTaskTotalMs: number;
  longTaskMaxMs: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function stopMeasuring(page: Page): Promise<TimingReport> {
  const { frames, longTasks } = await page.evaluate(() => {
    const t = window.__timing;
    if (t === undefined) throw new Error("installTiming was not called before the page loaded");
    t.measuring = false;
    return { frames: [...t.frames], longTasks: [...t.longTasks] };
  });
  const sorted = [...frames].sort((a, b) => a - b);
  return {
    frames: frames.length,
    frameP50Ms: percentile(sorted, 50),
    frameP95Ms: percentile(sorted, 95),
    frameP99Ms: percentile(sorted, 99),
    frameMaxMs: sorted.at(-1) ?? 0,
    longTasks: longTasks.length,
    longTaskTotalMs: longTasks.reduce((a, b) => a + b, 0),
    longTaskMaxMs: Math.max(0, ...longTasks),
  };
}

/**
 * How long the page takes to run a script sent to it now, measured from outside: when the main
 * thread is busy the script waits, just as a click would.
 */
export async function responseDelayMs(page: Page): Promise<number> {
  const start = performance.now();
  await page.evaluate(() => 0);
  return performance.now() - start;
}
