// Caps retries so a failing backend cannot multiply the load: retries may be at most a fraction
// of calls plus a small steady allowance, counted over the last second.

export interface RetryBudgetOptions {
  /** Retries allowed per call made. Default 0.2. */
  ratio?: number;
  /** Retries allowed per second regardless of traffic. Default 10. */
  minPerSecond?: number;
  now?: () => number;
}

export interface RetryBudget {
  /** Counts a call; `atMs` (ms since the epoch), when the caller has it, spares a clock read. */
  call(atMs?: number): void;
  /** Takes one retry from the budget; false when it is spent. */
  tryRetry(): boolean;
}

export function createRetryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const ratio = options.ratio ?? 0.2;
  const minPerSecond = options.minPerSecond ?? 10;
  const now = options.now ?? Date.now;
  // Two one-second buckets: the current one and the one before, weighted by overlap.
  let second = Math.floor(now() / 1000);
  let calls = 0;
  let retries = 0;
  let previousCalls = 0;
  let previousRetries = 0;

  const roll = (atMs: number) => {
    const current = Math.floor(atMs / 1000);
    // Clocks of different callers may differ by a little: time only moves forward here.
    if (current <= second) return;
    if (current === second + 1) {
      previousCalls = calls;
      previousRetries = retries;
    } else {
      previousCalls = 0;
      previousRetries = 0;
    }
    calls = 0;
    retries = 0;
    second = current;
  };

  return {
    call(atMs) {
      roll(atMs ?? now());
      calls++;
    },
    tryRetry() {
      const at = now();
      roll(at);
      const weight = 1 - (at % 1000) / 1000;
      const recentCalls = calls + previousCalls * weight;
      const recentRetries = retries + previousRetries * weight;
      if (recentRetries + 1 > recentCalls * ratio + minPerSecond) return false;
      retries++;
      return true;
    },
  };
}
