// The one way tests wait for something to happen: poll a check until it passes. The bound only
// catches a hang; a loaded machine makes a test slower, never red.

export interface EventuallyOptions {
  /** Gives up after this long, failing with the last error. Default 15 s. */
  timeoutMs?: number;
  /** Pause between tries. Default 25 ms. */
  intervalMs?: number;
  /** Names the condition in the timeout error. Default "condition". */
  what?: string;
}

/**
 * Calls `check` until it neither throws nor returns `false`, and resolves with what it returned.
 * A check can assert (`expect(…)` throws until it holds), answer a boolean, or make a call that
 * fails until the system is ready. After `timeoutMs` (a number is taken as `timeoutMs`) it
 * rejects naming `what` and the last error.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  options: EventuallyOptions | number = {},
): Promise<Exclude<T, false>> {
  const {
    timeoutMs = 10_000,
    intervalMs = 25,
    what = "condition",
  } = typeof options === "number" ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let failure: unknown;
    try {
      const value = await check();
      if (value !== false) return value as Exclude<T, false>;
      failure = new Error("the check answered false");
    } catch (err) {
      failure = err;
    }
    if (Date.now() > deadline) {
      const reason = failure instanceof Error ? failure.message : String(failure);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${reason}`, {
        cause: failure,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
