// Reconnect delays: exponential with "full jitter" (a random wait between zero and the current
// ceiling), so many clients that lost the same server come back spread out, not in one wave.

export interface BackoffOptions {
  /** Ceiling of the first delay, in ms. Default 500. */
  initialMs?: number;
  /** Largest ceiling, in ms. Default 30000. */
  maxMs?: number;
  /** Growth of the ceiling per failed attempt. Default 2. */
  multiplier?: number;
}

/** The delay before attempt `attempt` (0 for the first retry); `random` is injectable for tests. */
export function fullJitterDelay(
  attempt: number,
  options: BackoffOptions = {},
  random = Math.random,
): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const ceiling = Math.min(max, initial * (options.multiplier ?? 2) ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
