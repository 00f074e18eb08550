// The gateway's live picture of the registry: every service, every instance with every check,
// kept current with Consul blocking queries (/v1/catalog/services, then /v1/health/service/:name
// per service), plus a short history of each check's status changes so flapping shows.
import { create } from "@bufbuild/protobuf";
import {
  type CheckTransition,
  CheckTransitionSchema,
  type HealthCheck,
  HealthCheckSchema,
  HealthStatus,
  type ListServicesResponse,
  ListServicesResponseSchema,
  type ServiceInstance,
  ServiceInstanceSchema,
  type ServiceSummary,
  ServiceSummarySchema,
} from "../gen/agentplatform/v1/console_pb";
import type { ConsulClient } from "../platform/consul/consul-client";
import type { CheckStatus, HealthCheckEntry, ServiceEntry } from "../platform/consul/consul-types";
import { nextIndex } from "../platform/consul/service-watch";
import type { Logger } from "../platform/log";
import { clientIdFor, serviceKind } from "./service-kind";

export interface RegistryViewOptions {
  consul: ConsulClient;
  logger: Logger;
  /** How long each blocking query may wait. Default "30s". */
  wait?: string;
  /** Status changes kept per check. Default 50. */
  historySize?: number;
  /** A check with at least this many changes in flapWindowMs is flapping. Default 3. */
  flapChanges?: number;
  /** Default 60 s. */
  flapWindowMs?: number;
}

export interface RegistryView {
  /** The whole registry as ListServices answers it. */
  snapshot(): ListServicesResponse;
  /** Every instance of one service, healthy or not, with its checks. */
  instances(service: string): ServiceInstance[];
  /** Resolves after the first complete answer, or the first failure. */
  ready(): Promise<void>;
  /** Why the registry could not be read, while it cannot; undefined when it answers. */
  error(): string | undefined;
  /** True once the registry has answered at least once. */
  hasAnswered(): boolean;
  /** Called (debounced) whenever anything in the registry changes. */
  subscribe(listener: () => void): () => void;
  stop(): void;
}

interface Transition {
  status: HealthStatus;
  atMs: number;
  output: string;
  /** The first sighting, not a change. */
  initial: boolean;
}

interface ServiceState {
  entries: ServiceEntry[];
  index: number;
  controller: AbortController;
  answered: boolean;
}

const statusOf: Record<CheckStatus, HealthStatus> = {
  passing: HealthStatus.PASSING,
  warning: HealthStatus.WARNING,
  critical: HealthStatus.CRITICAL,
};

export function healthStatus(status: string): HealthStatus {
  return statusOf[status as CheckStatus] ?? HealthStatus.CRITICAL;
}

/** The worse of two statuses: critical beats warning beats passing. */
export function worse(a: HealthStatus, b: HealthStatus): HealthStatus {
  const rank = (s: HealthStatus) =>
    s === HealthStatus.CRITICAL
      ? 3
      : s === HealthStatus.WARNING
        ? 2
        : s === HealthStatus.PASSING
          ? 1
          : 0;
  return rank(a) >= rank(b) ? a : b;
}

const knownCheckTypes = new Set(["grpc", "tcp", "ttl", "http"]);

export function createRegistryView(options: RegistryViewOptions): RegistryView {
  const { consul, logger: log } = options;
  const wait = options.wait ?? "30s";
  const historySize = options.historySize ?? 50;
  const flapChanges = options.flapChanges ?? 3;
  const flapWindowMs = options.flapWindowMs ?? 60_000;
  const stopped = new AbortController();
  const services = new Map<string, ServiceState>();
  const histories = new Map<string, Transition[]>();
  const listeners = new Set<() => void>();
  let catalogIndex = 0;
  let catalogAnswered = false;
  let lastError: string | undefined;
  let readyResolve: () => void = () => {};
  const readyPromise = new Promise<void>((r) => {
    readyResolve = r;
  });
  let notifyTimer: NodeJS.Timeout | undefined;

  const notify = () => {
    if (notifyTimer || stopped.signal.aborted) return;
    // Several services often change together (a process registering three checks): send once.
    notifyTimer = setTimeout(() => {
      notifyTimer = undefined;
      for (const l of listeners) l();
    }, 25);
  };

  const maybeReady = () => {
    if (catalogAnswered && [...services.values()].every((s) => s.answered)) readyResolve();
  };

  /** Waits ms, or less when `signal` aborts; leaves no listener behind either way. */
  const sleep = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });

  const historyKey = (node: string, checkId: string) => `${node}\u0000${checkId}`;

  const recordChecks = (entries: ServiceEntry[]) => {
    const now = Date.now();
    for (const entry of entries) {
      for (const check of entry.Checks ?? []) {
        const key = historyKey(check.Node || entry.Node.Node, check.CheckID);
        const status = healthStatus(check.Status);
        let history = histories.get(key);
        if (!history) {
          history = [];
          histories.set(key, history);
        }
        // A check registered but not run yet reads critical with no output (Consul starts
        // checks so): no result about the instance, so nothing to record, and its first real
        // result is where its history starts.
        if (history.length === 0 && status === HealthStatus.CRITICAL && !check.Output) continue;
        const last = history[history.length - 1];
        if (last?.status === status) continue;
        history.push({ status, atMs: now, output: check.Output, initial: history.length === 0 });
        if (history.length > historySize) history.splice(0, history.length - historySize);
      }
    }
  };

  const pruneHistories = () => {
    const live = new Set<string>();
    for (const state of services.values()) {
      for (const entry of state.entries) {
        for (const check of entry.Checks ?? []) {
          live.add(historyKey(check.Node || entry.Node.Node, check.CheckID));
        }
      }
    }
    for (const key of histories.keys()) if (!live.has(key)) histories.delete(key);
  };

  async function watchHealth(name: string, state: ServiceState) {
    let failures = 0;
    const signal = state.controller.signal;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        const answer = await consul.healthService(name, { index: state.index, wait, signal });
        failures = 0;
        state.index = nextIndex(state.index, answer.index);
        state.entries = answer.value;
        state.answered = true;
        lastError = undefined;
        recordChecks(answer.value);
        maybeReady();
        notify();
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        state.index = 0;
        lastError = err instanceof Error ? err.message : String(err);
        state.answered = true;
        maybeReady();
        await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)), signal);
        continue;
      }
      // Consul's advice: never loop faster than a floor, whatever the index does.
      const elapsed = Date.now() - started;
      if (elapsed < 50) await sleep(50 - elapsed, signal);
    }
  }

  async function watchCatalog() {
    let failures = 0;
    const signal = stopped.signal;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        const answer = await consul.catalogServices({ index: catalogIndex, wait, signal });
        failures = 0;
        catalogIndex = nextIndex(catalogIndex, answer.index);
        catalogAnswered = true;
        lastError = undefined;
        const names = new Set(Object.keys(answer.value));
        for (const [name, state] of services) {
          if (names.has(name)) continue;
          state.controller.abort();
          services.delete(name);
        }
        for (const name of names) {
          if (services.has(name)) continue;
          const state: ServiceState = {
            entries: [],
            index: 0,
            controller: new AbortController(),
            answered: false,
          };
          services.set(name, state);
          void watchHealth(name, state);
        }
        pruneHistories();
        maybeReady();
        notify();
      } catch (err) {
        if (signal.aborted) return;
        failures++;
        catalogIndex = 0;
        lastError = err instanceof Error ? err.message : String(err);
        log.debug("registry catalog query failed", { err: lastError });
        readyResolve();
        notify();
        await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)), signal);
        continue;
      }
      const elapsed = Date.now() - started;
      if (elapsed < 50) await sleep(50 - elapsed, signal);
    }
  }
  void watchCatalog();

  const toCheck = (check: HealthCheckEntry, node: string, now: number): HealthCheck => {
    const history = histories.get(historyKey(check.Node || node, check.CheckID)) ?? [];
    const changes = history.filter((t) => !t.initial && now - t.atMs <= flapWindowMs).length;
    const type = check.Type?.toLowerCase() ?? "";
    return create(HealthCheckSchema, {
      checkId: check.CheckID,
      name: check.Name,
      status: healthStatus(check.Status),
      // Maintenance checks carry their reason in Notes, as in Consul.
      output: check.Output || check.Notes || "",
      type: knownCheckTypes.has(type) ? type : "",
      interval: check.Interval ?? "",
      history: history.map(
        (t): CheckTransition =>
          create(CheckTransitionSchema, {
            status: t.status,
            atMs: BigInt(t.atMs),
            output: t.output,
          }),
      ),
      flapping: changes >= flapChanges,
    });
  };

  const toInstance = (entry: ServiceEntry, now: number): ServiceInstance => {
    const checks = (entry.Checks ?? []).map((c) => toCheck(c, entry.Node.Node, now));
    return create(ServiceInstanceSchema, {
      instanceId: entry.Service.ID,
      // Consul leaves Service.Address empty when the service uses its node's address.
      address: entry.Service.Address || entry.Node.Address,
      port: entry.Service.Port,
      // An instance with no checks counts as passing, as in Consul.
      status: checks.reduce((s, c) => worse(s, c.status), HealthStatus.PASSING),
      checks,
      meta: { ...(entry.Service.Meta ?? {}) },
      tags: [...(entry.Service.Tags ?? [])],
      node: entry.Node.Node,
    });
  };

  const instancesOf = (name: string, now = Date.now()): ServiceInstance[] =>
    (services.get(name)?.entries ?? [])
      .map((e) => toInstance(e, now))
      .sort((a, b) => a.instanceId.localeCompare(b.instanceId));

  const distinct = (values: string[]) => [...new Set(values.filter((v) => v !== ""))];

  const summarise = (name: string, now: number): ServiceSummary => {
    const instances = instancesOf(name, now);
    const tags = distinct(instances.flatMap((i) => i.tags)).sort();
    const kind = serviceKind(name, tags);
    const passing = instances.filter((i) => i.status === HealthStatus.PASSING).length;
    const status =
      instances.length === 0 || passing === 0
        ? HealthStatus.CRITICAL
        : passing === instances.length
          ? HealthStatus.PASSING
          : HealthStatus.WARNING;
    return create(ServiceSummarySchema, {
      name,
      kind,
      clientId: clientIdFor(name, kind),
      description: instances.map((i) => i.meta.description ?? "").find((d) => d !== "") ?? "",
      capabilities: distinct(
        instances.flatMap((i) => (i.meta.capabilities ?? "").split(",").map((c) => c.trim())),
      ),
      version: distinct(instances.map((i) => i.meta.version ?? "")).join(", "),
      tags,
      status,
      passingInstances: passing,
      instances,
    });
  };

  return {
    snapshot() {
      const now = Date.now();
      let index = catalogIndex;
      for (const s of services.values()) index = Math.max(index, s.index);
      return create(ListServicesResponseSchema, {
        services: [...services.keys()].sort().map((name) => summarise(name, now)),
        index: BigInt(index),
        fetchedAtMs: BigInt(now),
      });
    },
    instances: (service) => instancesOf(service),
    ready: () => readyPromise,
    error: () => lastError,
    hasAnswered: () => catalogAnswered,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop() {
      stopped.abort();
      // Each service's watch has its own controller, dropped with the service: none listens on
      // `stopped`, so services that come and go leave nothing behind.
      for (const state of services.values()) state.controller.abort();
      if (notifyTimer) clearTimeout(notifyTimer);
      listeners.clear();
    },
  };
}
