// An unbounded async queue: producers push, one consumer iterates; close() ends the iteration
// after what is queued, fail() ends it with an error at once.

export interface AsyncQueue<T> extends AsyncIterable<T> {
  /** Queues a value; false (and dropped) once the queue is closed or failed. */
  push(value: T): boolean;
  /** Ends the iteration once queued values are consumed. */
  close(): void;
  /** Ends the iteration now, throwing `error` to the consumer. */
  fail(error: unknown): void;
  readonly closed: boolean;
  /** Values waiting to be consumed. */
  readonly size: number;
}

export function createAsyncQueue<T>(): AsyncQueue<T> {
  const values: T[] = [];
  let closed = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;

  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  return {
    get closed() {
      return closed;
    },
    get size() {
      return values.length;
    },
    push(value) {
      if (closed) return false;
      values.push(value);
      notify();
      return true;
    },
    close() {
      closed = true;
      notify();
    },
    fail(error) {
      if (failure) return;
      closed = true;
      failure = { error };
      values.length = 0;
      notify();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (failure) throw failure.error;
        if (values.length > 0) {
          yield values.shift() as T;
          continue;
        }
        if (closed) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
  };
}
