// Consul-style blocking queries: a request carrying ?index=N waits until the answer to THAT query
// has an index above N, or until its wait time ends. Each query's index is the registry index at
// which its answer last changed, so writes that do not change an answer do not wake its waiters.
import { createHash } from "node:crypto";
import { RegistryHttpError } from "./registry-model";

export interface Answer {
  /** The JSON body. */
  body: string;
  /** X-Consul-Index: the registry index at which this answer last changed. */
  index: number;
}

export interface BlockingQueryOptions {
  /** Index the client already holds; 0 answers at once. */
  minIndex: number;
  /** How long to hold the request, in ms. */
  waitMs: number;
  /** Aborts the wait (client went away); the promise then resolves with the current answer. */
  signal: AbortSignal;
}

export interface BlockingQueries {
  /**
   * Answers a query now, or once its answer changes past options.minIndex, or at the end of the
   * wait. `key` names the query (path and parameters); `compute` renders its current answer.
   */
  answer(key: string, compute: () => unknown, options: BlockingQueryOptions): Promise<Answer>;
  /** Re-evaluates waiting queries; call after the registry changed. */
  changed(): void;
  /** Requests waiting now. */
  waiting(): number;
  /** Answers every waiting request at once (shutdown). */
  releaseAll(): void;
}

interface Waiter {
  minIndex: number;
  compute: () => unknown;
  finish: () => void;
}

export interface BlockingQueryLimits {
  /** Largest number of requests waiting at once; more get 429. */
  maxWaiting: number;
  /** Distinct queries whose answer hash is remembered. */
  maxRemembered: number;
}

export function createBlockingQueries(
  currentIndex: () => number,
  limits: BlockingQueryLimits,
): BlockingQueries {
  // key -> hash of its last answer and the index at which that answer first appeared.
  const remembered = new Map<string, { hash: string; index: number }>();
  const waiters = new Map<string, Set<Waiter>>();
  let waitingCount = 0;
  let flushScheduled = false;

  function render(key: string, compute: () => unknown): Answer {
    const body = JSON.stringify(compute());
    const hash = createHash("sha1").update(body).digest("base64");
    let memo = remembered.get(key);
    if (memo?.hash !== hash) {
      memo = { hash, index: currentIndex() };
    }
    // Re-insert so the map's order is least-recently-used first.
    remembered.delete(key);
    remembered.set(key, memo);
    if (remembered.size > limits.maxRemembered) {
      // Forget the least recently used query nobody waits on. Forgetting only costs a spurious
      // wake-up later: that query's answer gets the current index again.
      for (const candidate of remembered.keys()) {
        if (!waiters.has(candidate)) {
          remembered.delete(candidate);
          break;
        }
      }
    }
    return { body, index: memo.index };
  }

  function flush() {
    flushScheduled = false;
    for (const [key, set] of waiters) {
      const first = set.values().next().value;
      if (!first) continue;
      const { index } = render(key, first.compute);
      for (const waiter of [...set]) if (index > waiter.minIndex) waiter.finish();
    }
  }

  return {
    answer(key, compute, options) {
      const now = render(key, compute);
      if (options.minIndex <= 0 || now.index > options.minIndex || options.signal.aborted) {
        return Promise.resolve(now);
      }
      if (waitingCount >= limits.maxWaiting) {
        return Promise.reject(
          new RegistryHttpError(
            429,
            `Too many blocking queries: at most ${limits.maxWaiting} may wait at once`,
          ),
        );
      }
      return new Promise<Answer>((resolve) => {
        let set = waiters.get(key);
        if (!set) {
          set = new Set();
          waiters.set(key, set);
        }
        const waiter: Waiter = {
          minIndex: options.minIndex,
          compute,
          finish() {
            if (!set.delete(waiter)) return;
            waitingCount--;
            if (set.size === 0) waiters.delete(key);
            clearTimeout(timer);
            options.signal.removeEventListener("abort", waiter.finish);
            resolve(render(key, compute));
          },
        };
        set.add(waiter);
        waitingCount++;
        const timer = setTimeout(waiter.finish, options.waitMs);
        options.signal.addEventListener("abort", waiter.finish, { once: true });
      });
    },
    changed() {
      // Coalesce bursts of writes into one re-evaluation per query.
      if (flushScheduled || waitingCount === 0) return;
      flushScheduled = true;
      setImmediate(flush);
    },
    waiting: () => waitingCount,
    releaseAll() {
      for (const set of [...waiters.values()]) for (const waiter of [...set]) waiter.finish();
    },
  };
}
