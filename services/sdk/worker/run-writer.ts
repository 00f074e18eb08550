// Persists one run's record: writes land in order, each renews the lease and carries the lease
// version the run claimed, so a run that lost its task (another instance claimed it) finds out at
// its next write and stops. While the store is unreachable a write is retried; a run that cannot
// record anything for giveUpMs stops too (its lease has run out; whoever claims it next resumes
// from the last recorded step).
import type { Logger } from "../../../platform/log";
import type { StoredTask, TaskStore } from "./task-store";

export interface RunWriterOptions {
  store: TaskStore;
  /** The record as the run sees it now; written as is (owner and version included). */
  current: StoredTask;
  leaseMs: number;
  logger: Logger;
  /** Called once when the task turns out to belong to someone else, or writes kept failing. */
  onLost(why: "claimed" | "unreachable"): void;
  /** First pause between retries of a failed write, in ms; doubles up to 500 ms. Default 100. */
  retryMs?: number;
  /** Stop retrying after this long without a successful write, in ms. Default 2 × leaseMs. */
  giveUpMs?: number;
}

export interface RunWriter {
  /** Queues a write of the current record; resolves once it landed or the run was lost. */
  persist(): Promise<void>;
  /** True once a write found the task claimed by another instance (or writes kept failing). */
  lost(): boolean;
  /** Renews the lease every leaseMs / 3 until stopRenewing. */
  startRenewing(): void;
  stopRenewing(): void;
}

export function createRunWriter(options: RunWriterOptions): RunWriter {
  const { store, current, leaseMs, logger: log } = options;
  const retryMs = options.retryMs ?? 100;
  // Short: once the store is back, the owner must renew before its lease is given away.
  const maxRetryMs = Math.max(retryMs, Math.min(500, leaseMs / 10));
  const giveUpMs = options.giveUpMs ?? leaseMs * 2;
  let lostWhy: "claimed" | "unreachable" | undefined;
  let lastSuccess = Date.now();
  let chain: Promise<void> = Promise.resolve();
  let renewTimer: NodeJS.Timeout | undefined;

  const lose = (why: "claimed" | "unreachable") => {
    if (lostWhy) return;
    lostWhy = why;
    options.onLost(why);
  };

  async function writeOnce(): Promise<void> {
    for (let pause = retryMs; ; pause = Math.min(pause * 2, maxRetryMs)) {
      if (lostWhy) return;
      try {
        const stored = await store.update(current, leaseMs);
        if (stored === false) {
          lose("claimed");
          return;
        }
        lastSuccess = Date.now();
        current.updatedAtMs = stored.updatedAtMs;
        if (current.owner && stored.owner) current.owner.leaseUntilMs = stored.owner.leaseUntilMs;
        return;
      } catch (err) {
        if (Date.now() - lastSuccess > giveUpMs) {
          log.warn("could not record the task's state; leaving it to be resumed", {
            err: (err as Error).message,
          });
          lose("unreachable");
          return;
        }
        log.debug("task write failed; retrying", { err: (err as Error).message, pause_ms: pause });
        await new Promise((r) => setTimeout(r, pause));
      }
    }
  }

  const persist = () => {
    chain = chain.then(writeOnce);
    return chain;
  };

  return {
    persist,
    lost: () => lostWhy !== undefined,
    startRenewing() {
      renewTimer ??= setInterval(() => void persist(), Math.max(50, leaseMs / 3));
      renewTimer.unref();
    },
    stopRenewing() {
      clearInterval(renewTimer);
      renewTimer = undefined;
    },
  };
}
