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
  /** Asks the registry again now instead of waiting for the blocking query to return. */
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

/** Applies Consul's index rules: the next index to send after receiving `next` while holding `previous`. */
export function nextIndex(previous: number, next: number): number {
  if (!Number.isFinite(next) || next <= 0) return 0;
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

  const publish = (next: ServiceSnapshot) => {
    snapshot = next;
    readyResolve();
    for (const l of listeners) l(next);
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      controller.signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      });
    });

  async function loop() {
    let index = 0;
    let failures = 0;
    while (!controller.signal.aborted) {
      const started = Date.now();
      inflight = new AbortController();
      const signal = AbortSignal.any([controller.signal, inflight.signal]);
      try {
        const answer = await consul.healthService(service, { passing: true, index, wait, signal });
        failures = 0;
        index = nextIndex(index, answer.index);
        publish({
          service,
          instances: answer.value.map(toInstance),
          index: answer.index,
          refreshedAt: Date.now(),
          stale: false,
        });
      } catch (err) {
        if (controller.signal.aborted) return;
        if (inflight.signal.aborted) {
          index = 0; // refresh() asked for an answer now, not a blocking one
          continue;
        }
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
      inflight?.abort();
    },
    stop() {
      controller.abort();
    },
  };
}
