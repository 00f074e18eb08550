// Watches one service's healthy instances with Consul blocking queries, by Consul's rules:
// reset the index when it goes backwards or is 0, never loop faster than a floor, back off on
// errors, and keep the last known set (marked stale) while the registry cannot be reached.
import type { ConsulClient } from "./consul-client";
import type { ServiceEntry } from "./consul-types";

export interface ServiceInstance {
  /** Registry service instance id. */
  id: string;
  service: string;
  address: string;
  port: number;
  tags: string[];
  meta: Record<string, string>;
}

export interface ServiceSnapshot {
  service: string;
  instances: ServiceInstance[];
  /** X-Consul-Index of the answer this view came from. */
  index: number;
  /** When the registry last answered, in ms since the epoch; 0 before the first answer. */
  refreshedAt: number;
  /** True while the registry is not answering; instances are the last known set. */
  stale: boolean;
  /** The last registry error, while stale. */
  error?: string;
}

export interface ServiceWatchOptions {
  /** How long each blocking query may wait. Default "30s". */
  wait?: string;
  /** Minimum time between two queries, in ms: protects the registry from change floods. Default 100. */
  minIntervalMs?: number;
  /** Longest back-off after errors, in ms. Default 5000. */
  maxBackoffMs?: number;
}

export interface ServiceWatch {
  readonly service: string;
  current(): ServiceSnapshot;
  /** Resolves once the first answer (or first failure) has arrived. */
  ready(): Promise<void>;
  /** Called after every answer and every change of staleness. Returns an unsubscribe function. */
  subscribe(listener: (snapshot: ServiceSnapshot) => void): () => void;
  /**
   * Asks the registry again without waiting for the blocking query to return (still no sooner
   * than minIntervalMs after the previous query).
   */
  refresh(): void;
  stop(): void;
}

export function toInstance(entry: ServiceEntry): ServiceInstance {
  return {
    id: entry.Service.ID,
    service: entry.Service.Service,
    // Consul leaves Service.Address empty when the service uses its node's address.
    address: entry.Service.Address || entry.Node.Address,
    port: entry.Service.Port,
    tags: entry.Service.Tags ?? [],
    meta: entry.Service.Meta ?? {},
  };
}

/**
 * Applies Consul's index rules: the next index to send after receiving `next` while holding
 * `previous`. An index that went backwards resets to 0 (re-read everything); an index below 1 is
 * raised to 1, so a registry that wrongly answers 0 is still asked to block, not polled in a loop.
 */
export function nextIndex(previous: number, next: number): number {
  if (!Number.isFinite(next) || next < 1) return 1;
  if (next < previous) return 0;
  return next;
}

export function watchService(
  consul: ConsulClient,
  service: string,
  options: ServiceWatchOptions = {},
): ServiceWatch {
  const wait = options.wait ?? "30s";
  const minIntervalMs = options.minIntervalMs ?? 100;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const listeners = new Set<(s: ServiceSnapshot) => void>();
  const controller = new AbortController();
  let snapshot: ServiceSnapshot = { service, instances: [], index: 0, refreshedAt: 0, stale: true };
  let readyResolve: () => void = () => {};
  const readyPromise = new Promise<void>((r) => {
    readyResolve = r;
  });
  let inflight: AbortController | undefined;
  let refreshWanted = false;

  const publish = (next: ServiceSnapshot) => {
    snapshot = next;
    readyResolve();
    for (const l of listeners) l(next);
  };
  /** Waits ms, or less when stopped. */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        controller.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      controller.signal.addEventListener("abort", done, { once: true });
    });

  async function loop() {
    let index = 0;
    let failures = 0;
    while (!controller.signal.aborted) {
      const started = Date.now();
      inflight = new AbortController();
      const signal = AbortSignal.any([controller.signal, inflight.signal]);
      // After refresh() the next query asks for the current answer instead of blocking.
      const queryIndex = refreshWanted ? 0 : index;
      refreshWanted = false;
      try {
        const answer = await consul.healthService(service, {
          passing: true,
          index: queryIndex,
          wait,
          signal,
        });
        failures = 0;
        index = nextIndex(queryIndex, answer.index);
        publish({
          service,
          instances: answer.value.map(toInstance),
          index: answer.index,
          refreshedAt: Date.now(),
          stale: false,
        });
      } catch (err) {
        if (controller.signal.aborted) return;
        if (!inflight.signal.aborted) {
          failures++;
          index = 0;
          publish({
            ...snapshot,
            stale: true,
            error: err instanceof Error ? err.message : String(err),
          });
          await sleep(Math.min(maxBackoffMs, 100 * 2 ** Math.min(failures, 10)));
          continue;
        }
        // Aborted by refresh(): ask again (without blocking), but no sooner than the floor.
      }
      // Whatever the registry answers, never query faster than the floor.
      const elapsed = Date.now() - started;
      if (elapsed < minIntervalMs) await sleep(minIntervalMs - elapsed);
    }
  }
  void loop();

  return {
    service,
    current: () => snapshot,
    ready: () => readyPromise,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    refresh() {
      refreshWanted = true;
      inflight?.abort();
    },
    stop() {
      controller.abort();
    },
  };
}
