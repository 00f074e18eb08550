// Where each registry service's healthy instances are: one blocking-query watch per service in
// use (started on first use, stopped when unused), the last known set kept and marked stale
// while the registry cannot be reached, and the catalog of registered names for telling an
// unknown id (NOT_FOUND) from a known service with nothing healthy (UNAVAILABLE).
import type { ConsulClient } from "../platform/consul/consul-client";
import type { CatalogServices } from "../platform/consul/consul-types";
import {
  type ServiceInstance,
  type ServiceWatch,
  type ServiceWatchOptions,
  watchService,
} from "../platform/consul/service-watch";

export interface ServiceView {
  service: string;
  /** Healthy instances as the registry last reported them. */
  instances: readonly ServiceInstance[];
  /** X-Consul-Index of that answer. */
  index: number;
  /** When the registry last answered for this service (ms since the epoch); 0 if never. */
  refreshedAt: number;
  /** True while the registry is unreachable or has not answered within the cache TTL. */
  stale: boolean;
  error?: string;
  /**
   * Set while the registry, just back from an outage or an index reset, lists no healthy
   * instance: `instances` are the last known ones, held since then (ms since the epoch).
   */
  heldSince?: number;
}

export interface CatalogView {
  /** Service name → tags, as last read. */
  services: CatalogServices;
  stale: boolean;
}

export interface EndpointDirectoryOptions {
  consul: ConsulClient;
  /** A view older than this is reported stale and asked for again. Default 60000 ms. */
  cacheTtlMs?: number;
  /** A watch nobody used for this long is stopped. Default 300000 ms. */
  idleWatchMs?: number;
  /** How long a catalog read is reused. Default 1000 ms. */
  catalogTtlMs?: number;
  /** Service names remembered as registered once seen, at most. Default 10000. */
  maxKnownServices?: number;
  watch?: ServiceWatchOptions;
  /** Called after every registry answer for a service. */
  onAnswer?(service: string): void;
  /** Called when a service's watch is stopped for lack of use. */
  onForget?(service: string): void;
  /** Called after every answer with when the view's hold began, or undefined when not held. */
  onHeld?(service: string, sinceMs: number | undefined): void;
}

export interface EndpointDirectory {
  /** The current view, or a promise of the first one for a service not watched yet. */
  view(service: string): ServiceView | Promise<ServiceView>;
  /**
   * True when the registry has this service name (whatever its health), or had it before: a
   * registry that restarted empty must not turn known services into unknown ones.
   */
  isRegistered(service: string): Promise<boolean>;
  catalog(): Promise<CatalogView>;
  /** Views of every service being watched. */
  watched(): ServiceView[];
  /** Asks the registry about a service again now (after a transport failure, say). */
  refresh(service: string): void;
  /** False after the registry's last answer was a failure. */
  registryReachable(): boolean;
  close(): void;
}

interface Entry {
  watch: ServiceWatch;
  lastUsed: number;
  lastForcedRefresh: number;
  /** The watch has published its first answer (or first failure). */
  ready: boolean;
  unsubscribe: () => void;
}

export function createEndpointDirectory(options: EndpointDirectoryOptions): EndpointDirectory {
  const { consul } = options;
  const cacheTtlMs = options.cacheTtlMs ?? 60_000;
  const idleWatchMs = options.idleWatchMs ?? 300_000;
  const catalogTtlMs = options.catalogTtlMs ?? 1000;
  const entries = new Map<string, Entry>();
  const maxKnown = options.maxKnownServices ?? 10_000;
  /** Every service name the registry has listed or shown instances of, up to maxKnown. */
  const known = new Set<string>();
  const remember = (service: string) => {
    if (known.size < maxKnown) known.add(service);
  };
  let reachable = true;
  let catalogCache: { view: CatalogView; at: number } | undefined;
  let catalogPending: Promise<CatalogView> | undefined;

  const toView = (entry: Entry, now: number): ServiceView => {
    const s = entry.watch.current();
    const expired = s.refreshedAt > 0 && now - s.refreshedAt > cacheTtlMs;
    if (expired && now - entry.lastForcedRefresh > cacheTtlMs) {
      entry.lastForcedRefresh = now;
      entry.watch.refresh();
    }
    return {
      service: s.service,
      instances: s.instances,
      index: s.index,
      refreshedAt: s.refreshedAt,
      stale: s.stale || expired,
      ...(s.error ? { error: s.error } : {}),
      ...(s.heldSince !== undefined ? { heldSince: s.heldSince } : {}),
    };
  };

  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const [service, entry] of entries) {
        if (now - entry.lastUsed > idleWatchMs) {
          entry.unsubscribe();
          entry.watch.stop();
          entries.delete(service);
          options.onForget?.(service);
        }
      }
    },
    Math.max(1000, Math.min(idleWatchMs / 2, 60_000)),
  );
  sweeper.unref();

  const startWatch = (service: string): Entry => {
    const watch = watchService(consul, service, options.watch ?? {});
    const entry: Entry = {
      watch,
      lastUsed: Date.now(),
      lastForcedRefresh: 0,
      ready: false,
      unsubscribe: () => {},
    };
    entry.unsubscribe = watch.subscribe((snapshot) => {
      entry.ready = true;
      // A held view is stale, but the registry did answer.
      const answered = snapshot.error === undefined && snapshot.refreshedAt > 0;
      reachable = answered;
      if (snapshot.instances.length > 0) remember(service);
      if (answered && snapshot.heldSince === undefined) options.onAnswer?.(service);
      options.onHeld?.(service, snapshot.heldSince);
    });
    entries.set(service, entry);
    return entry;
  };

  const catalog = (): Promise<CatalogView> => {
    const now = Date.now();
    if (catalogCache && now - catalogCache.at < catalogTtlMs) {
      return Promise.resolve(catalogCache.view);
    }
    catalogPending ??= consul
      .catalogServices()
      .then(
        ({ value }) => {
          reachable = true;
          for (const name of Object.keys(value)) remember(name);
          const view = { services: value, stale: false };
          catalogCache = { view, at: Date.now() };
          return view;
        },
        (err: unknown) => {
          reachable = false;
          if (catalogCache) return { services: catalogCache.view.services, stale: true };
          throw err;
        },
      )
      .finally(() => {
        catalogPending = undefined;
      });
    return catalogPending;
  };

  return {
    view(service) {
      const now = Date.now();
      const existing = entries.get(service);
      if (existing) {
        existing.lastUsed = now;
        if (existing.ready) return toView(existing, now);
      }
      const entry = existing ?? startWatch(service);
      return entry.watch.ready().then(() => toView(entry, Date.now()));
    },
    async isRegistered(service) {
      if (known.has(service)) return true;
      const { services } = await catalog();
      return Object.hasOwn(services, service);
    },
    catalog,
    watched() {
      const now = Date.now();
      return [...entries.values()].map((e) => toView(e, now));
    },
    refresh(service) {
      entries.get(service)?.watch.refresh();
    },
    registryReachable: () => reachable,
    close() {
      clearInterval(sweeper);
      for (const entry of entries.values()) {
        entry.unsubscribe();
        entry.watch.stop();
      }
      entries.clear();
    },
  };
}
