// Watches one service's healthy instances with Consul blocking queries, by Consul's rules:
// reset the index when it goes backwards or is 0, never loop faster than a floor, back off on
// errors, and keep the last known set (marked stale) while the registry cannot be reached.
// A registry that comes back empty (restarted without its state) is not believed at once: an
// empty answer right after an outage or an index reset keeps the last known set ("held") until
// the instances re-register or a grace period passes, like Envoy's handling of a suspect EDS.
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
  /**
   * When the registry answered "no healthy instance" right after it was unreachable or its index
   * went backwards (ms since the epoch): instances are then the last known set, held until they
   * re-register or the grace period ends. Absent otherwise.
   */
  heldSince?: number;
}

export interface ServiceWatchOptions {
  /** How long each blocking query may wait. Default "30s". */
  wait?: string;
  /** Minimum time between two queries, in ms: protects the registry from change floods. Default 100. */
  minIntervalMs?: number;
  /**
   * Longest back-off after errors, in ms: also how soon a registry that comes back is noticed.
   * Default 1000.
   */
  maxBackoffMs?: number;
  /**
   * How long an empty answer right after an outage or an index reset is disbelieved, in ms (the
   * last known instances keep serving meanwhile); 0 believes it at once. Default 30000
   * (ROUTER_EMPTY_REGISTRY_GRACE_MS where the process reads it).
   */
  emptyGraceMs?: number;
}

/** The default of ServiceWatchOptions.emptyGraceMs. */
export const defaultEmptyGraceMs = 30_000;

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
  const maxBackoffMs = options.maxBackoffMs ?? 1000;
  const emptyGraceMs = options.emptyGraceMs ?? defaultEmptyGraceMs;
  const listeners = new Set<(s: ServiceSnapshot) => void>();
  const controller = new AbortController();
  let snapshot: ServiceSnapshot = { service, instances: [], index: 0, refreshedAt: 0, stale: true };
  let readyResolve: () => void = () => {};
  const readyPromise = new Promise<void>((r) => {
    readyResolve = r;
  });
  let inflight: AbortController | undefined;
  let refreshWanted = false;
  /** The registry failed since its last answer, or its index went backwards: doubt an empty set. */
  let suspect = false;
  /** Index of the last answer, to notice one that goes backwards. */
  let lastIndex = 0;
  /** Ends a hold: publishes the empty answer once the grace period has passed. */
  let holdTimer: NodeJS.Timeout | undefined;

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

  const endHold = () => {
    if (holdTimer !== undefined) clearTimeout(holdTimer);
    holdTimer = undefined;
  };

  /** Publishes a registry answer, or holds the last known set when the answer looks wrong. */
  const answered = (next: ServiceSnapshot) => {
    const held = snapshot.heldSince;
    const doubt =
      next.instances.length === 0 &&
      snapshot.instances.length > 0 &&
      emptyGraceMs > 0 &&
      (suspect || held !== undefined);
    if (!doubt) {
      suspect = false;
      endHold();
      publish(next);
      return;
    }
    const since = held ?? next.refreshedAt;
    const left = since + emptyGraceMs - Date.now();
    if (left <= 0) {
      suspect = false;
      endHold();
      publish(next);
      return;
    }
    publish({
      ...next,
      instances: snapshot.instances,
      stale: true,
      heldSince: since,
    });
    if (holdTimer === undefined) {
      const empty = next;
      holdTimer = setTimeout(() => {
        holdTimer = undefined;
        if (snapshot.heldSince === undefined || controller.signal.aborted) return;
        suspect = false;
        publish({ ...empty, index: snapshot.index, refreshedAt: snapshot.refreshedAt });
      }, left);
      holdTimer.unref();
    }
  };

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
        if (answer.index < lastIndex) suspect = true;
        lastIndex = answer.index;
        answered({
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
          suspect = true;
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
      endHold();
    },
  };
}
