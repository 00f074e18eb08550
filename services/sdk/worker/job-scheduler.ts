// When a runner looks for work: at start (taking back its own previous life's runs at once), on
// every notification from the store, whenever a slot frees up, and on a slow sweep that finds
// abandoned leases. One look at a time; a request during a look runs one more right after it.
// Also drives retention cleanup.
import type { Logger } from "../../../platform/log";

export interface JobSchedulerOptions {
  /** Claims and starts up to `slots` tasks; `startup` on the first look after start. */
  claim(slots: number, startup: boolean): Promise<void>;
  /** Free slots for more runs right now. */
  freeSlots(): number;
  /** Deletes old finished tasks. */
  cleanup(): Promise<void>;
  /** Period of the sweep for abandoned leases, in ms. */
  sweepIntervalMs: number;
  /** Period of cleanup (also run once at start), in ms; 0 turns it off. */
  cleanupIntervalMs: number;
  logger: Logger;
}

export interface JobScheduler {
  /** Looks once (startup) and then keeps looking. */
  start(): Promise<void>;
  /** Looks again soon: new work may be there. */
  poke(): void;
  /** Stops looking; waits for a look in progress. */
  stop(): Promise<void>;
}

export function createJobScheduler(options: JobSchedulerOptions): JobScheduler {
  const log = options.logger;
  let running = false;
  let looking: Promise<void> | undefined;
  let again = false;
  let sweepTimer: NodeJS.Timeout | undefined;
  let cleanupTimer: NodeJS.Timeout | undefined;

  async function lookLoop(startup: boolean) {
    let first = startup;
    do {
      again = false;
      const slots = options.freeSlots();
      if (slots > 0) {
        await options
          .claim(slots, first)
          .catch((err: unknown) => log.warn("looking for tasks failed", { err: String(err) }));
      }
      first = false;
    } while (again && running);
  }

  function look(startup = false): Promise<void> {
    if (looking) {
      again = true;
      return looking;
    }
    looking = lookLoop(startup).finally(() => {
      looking = undefined;
    });
    return looking;
  }

  return {
    async start() {
      running = true;
      await look(true);
      sweepTimer = setInterval(() => void look(), options.sweepIntervalMs);
      sweepTimer.unref();
      if (options.cleanupIntervalMs > 0) {
        const cleanup = () =>
          void options
            .cleanup()
            .catch((err: unknown) => log.warn("task cleanup failed", { err: String(err) }));
        cleanup();
        cleanupTimer = setInterval(cleanup, options.cleanupIntervalMs);
        cleanupTimer.unref();
      }
    },
    poke() {
      if (running) void look();
    },
    async stop() {
      running = false;
      clearInterval(sweepTimer);
      clearInterval(cleanupTimer);
      await looking;
    },
  };
}
