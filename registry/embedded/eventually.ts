// Polls until a condition holds, for tests that wait on checks and watches without fixed sleeps.

/** Resolves with the first truthy value `probe` returns; rejects after timeoutMs with the last value. */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  { timeoutMs = 10_000, everyMs = 25, what = "condition" } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
