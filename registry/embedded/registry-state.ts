// The registry's in-memory catalog: one node, its service instances and their checks, with a
// Raft-like index that grows on every change so blocking queries can wait for the next one.
import { isDeepStrictEqual } from "node:util";
import type { CheckStatus } from "../../platform/consul/consul-types";
import type { CheckRecord, CheckSpec, ServiceRecord, ServiceSpec } from "./registry-model";

export interface NodeInfo {
  id: string;
  name: string;
  address: string;
  datacenter: string;
}

/** Consul's own node check, always passing on a live agent. */
export const serfHealthCheckId = "serfHealth";

export interface RegistryState {
  readonly node: NodeInfo;
  /** The index of the last change; starts above 0 as Consul's does. */
  index(): number;
  /** Called synchronously after every change that moved the index. */
  onChange(listener: () => void): () => void;
  /**
   * Adds or replaces a service instance. Checks that keep their ID keep their status and output,
   * as Consul does on re-registration. With replaceExistingChecks, checks absent from the new
   * definition are removed; otherwise they stay.
   */
  register(service: ServiceSpec, checks: CheckSpec[], replaceExistingChecks: boolean): void;
  /** Removes an instance and its checks; false when unknown. */
  deregister(serviceId: string): boolean;
  service(serviceId: string): ServiceRecord | undefined;
  /** Every instance, ordered by ID. */
  services(): ServiceRecord[];
  /** Instances of one service name, ordered by ID. */
  servicesNamed(name: string): ServiceRecord[];
  check(checkId: string): CheckRecord | undefined;
  /** Every check, the node's included, ordered by check ID. */
  checks(): CheckRecord[];
  /** Checks of one service instance. */
  checksOf(serviceId: string): CheckRecord[];
  /** Records a check result; false when the check is unknown. */
  updateCheck(checkId: string, status: CheckStatus, output: string): boolean;
  /**
   * Consul's service maintenance mode: on adds a critical `_service_maintenance:<id>` check
   * (again is a no-op), off removes it. False when no such service is registered.
   */
  setMaintenance(serviceId: string, enable: boolean, reason: string): boolean;
}

export const maintenanceCheckId = (serviceId: string) => `_service_maintenance:${serviceId}`;

export function createRegistryState(node: NodeInfo, now: () => number = Date.now): RegistryState {
  let index = 1;
  const services = new Map<string, ServiceRecord>();
  const checks = new Map<string, CheckRecord>();
  const listeners = new Set<() => void>();
  const nodeCheck: CheckRecord = {
    spec: {
      id: serfHealthCheckId,
      name: "Serf Health Status",
      notes: "",
      kind: "ttl",
      target: "",
      grpcUseTls: false,
      tlsSkipVerify: false,
      method: "",
      header: {},
      intervalMs: 0,
      timeoutMs: undefined,
      ttlMs: 0,
      deregisterAfterMs: undefined,
      initialStatus: "passing",
    },
    serviceId: "",
    serviceName: "",
    serviceTags: [],
    status: "passing",
    output: "Agent alive and reachable",
    criticalSince: undefined,
    createIndex: index,
    modifyIndex: index,
  };
  checks.set(serfHealthCheckId, nodeCheck);

  const bump = () => {
    index++;
    return index;
  };
  const changed = () => {
    for (const listener of listeners) listener();
  };
  const sortById = <T>(items: Iterable<T>, id: (item: T) => string) =>
    [...items].sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));

  // Instance IDs by service name, and a sorted list rebuilt only after a change: blocking
  // queries re-render on every write, so reads must not sort the whole catalog each time.
  const idsNamed = new Map<string, Set<string>>();
  let sorted: ServiceRecord[] | undefined;

  function putService(record: ServiceRecord) {
    const previous = services.get(record.id);
    if (previous && previous.name !== record.name) idsNamed.get(previous.name)?.delete(record.id);
    services.set(record.id, record);
    let ids = idsNamed.get(record.name);
    if (!ids) {
      ids = new Set();
      idsNamed.set(record.name, ids);
    }
    ids.add(record.id);
    sorted = undefined;
  }

  function removeService(serviceId: string): boolean {
    const record = services.get(serviceId);
    if (!record) return false;
    services.delete(serviceId);
    const ids = idsNamed.get(record.name);
    ids?.delete(serviceId);
    if (ids?.size === 0) idsNamed.delete(record.name);
    sorted = undefined;
    return true;
  }

  // service ID -> IDs of its checks ("" holds the node's), so per-service reads skip the rest.
  const checkIdsOf = new Map<string, Set<string>>([["", new Set([serfHealthCheckId])]]);
  const checksOfService = (serviceId: string): CheckRecord[] =>
    [...(checkIdsOf.get(serviceId) ?? [])].flatMap((id) => checks.get(id) ?? []);

  function putCheck(record: CheckRecord) {
    const previous = checks.get(record.spec.id);
    if (previous && previous.serviceId !== record.serviceId) removeCheck(record.spec.id);
    checks.set(record.spec.id, record);
    let ids = checkIdsOf.get(record.serviceId);
    if (!ids) {
      ids = new Set();
      checkIdsOf.set(record.serviceId, ids);
    }
    ids.add(record.spec.id);
  }

  function removeCheck(checkId: string) {
    const record = checks.get(checkId);
    if (!record) return;
    checks.delete(checkId);
    const ids = checkIdsOf.get(record.serviceId);
    ids?.delete(checkId);
    if (ids?.size === 0 && record.serviceId !== "") checkIdsOf.delete(record.serviceId);
  }

  return {
    node,
    index: () => index,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    register(spec, checkSpecs, replaceExistingChecks) {
      const existing = services.get(spec.id);
      const serviceSame =
        existing !== undefined &&
        isDeepStrictEqual(
          { ...existing, createIndex: 0, modifyIndex: 0 },
          {
            ...spec,
            createIndex: 0,
            modifyIndex: 0,
          },
        );
      // As in Consul, re-registering never ends maintenance mode.
      const staleChecks = checksOfService(spec.id).filter(
        (c) => c.spec.kind !== "maintenance" && !checkSpecs.some((s) => s.id === c.spec.id),
      );
      const checksSame =
        checkSpecs.every((s) => {
          const current = checks.get(s.id);
          return current?.serviceId === spec.id && isDeepStrictEqual(current.spec, s);
        }) &&
        (!replaceExistingChecks || staleChecks.length === 0);
      if (serviceSame && checksSame) return;

      const at = bump();
      putService({
        ...spec,
        createIndex: existing?.createIndex ?? at,
        modifyIndex: serviceSame && existing ? existing.modifyIndex : at,
      });
      if (replaceExistingChecks) for (const c of staleChecks) removeCheck(c.spec.id);
      for (const checkSpec of checkSpecs) {
        const previous = checks.get(checkSpec.id);
        const status = previous?.status ?? checkSpec.initialStatus;
        const unchanged =
          previous !== undefined &&
          previous.serviceId === spec.id &&
          serviceSame &&
          isDeepStrictEqual(previous.spec, checkSpec);
        putCheck({
          spec: checkSpec,
          serviceId: spec.id,
          serviceName: spec.name,
          serviceTags: spec.tags,
          status,
          output: previous?.output ?? "",
          criticalSince: status === "critical" ? (previous?.criticalSince ?? now()) : undefined,
          createIndex: previous?.createIndex ?? at,
          modifyIndex: unchanged && previous ? previous.modifyIndex : at,
        });
      }
      // A service's other checks carry its name and tags: keep them in step.
      for (const c of checksOfService(spec.id)) {
        if (!serviceSame) {
          c.serviceName = spec.name;
          c.serviceTags = spec.tags;
          c.modifyIndex = at;
        }
      }
      changed();
    },
    deregister(serviceId) {
      if (!removeService(serviceId)) return false;
      for (const c of checksOfService(serviceId)) removeCheck(c.spec.id);
      bump();
      changed();
      return true;
    },
    service: (id) => services.get(id),
    services() {
      sorted ??= sortById(services.values(), (s) => s.id);
      return sorted;
    },
    servicesNamed: (name) =>
      sortById(
        [...(idsNamed.get(name) ?? [])].flatMap((id) => services.get(id) ?? []),
        (s) => s.id,
      ),
    check: (id) => checks.get(id),
    checks: () => sortById(checks.values(), (c) => c.spec.id),
    checksOf: (serviceId) => sortById(checksOfService(serviceId), (c) => c.spec.id),
    setMaintenance(serviceId, enable, reason) {
      const service = services.get(serviceId);
      if (!service) return false;
      const id = maintenanceCheckId(serviceId);
      if (enable === checks.has(id)) return true;
      const at = bump();
      if (enable) {
        putCheck({
          spec: {
            id,
            name: "Service Maintenance Mode",
            notes: reason,
            kind: "maintenance",
            target: "",
            grpcUseTls: false,
            tlsSkipVerify: false,
            method: "",
            header: {},
            intervalMs: 0,
            timeoutMs: undefined,
            ttlMs: 0,
            deregisterAfterMs: undefined,
            initialStatus: "critical",
          },
          serviceId,
          serviceName: service.name,
          serviceTags: service.tags,
          status: "critical",
          output: "",
          criticalSince: now(),
          createIndex: at,
          modifyIndex: at,
        });
      } else {
        removeCheck(id);
      }
      changed();
      return true;
    },
    updateCheck(checkId, status, output) {
      const record = checks.get(checkId);
      if (!record) return false;
      // Like Consul's check_update_interval, an output-only change is kept without waking
      // watchers: checks whose output varies every run would otherwise churn every query.
      record.output = output;
      if (record.status === status) return true;
      record.status = status;
      record.criticalSince = status === "critical" ? now() : undefined;
      record.modifyIndex = bump();
      changed();
      return true;
    },
  };
}
