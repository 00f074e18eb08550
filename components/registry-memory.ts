// Remembers instances that left the registry, so a service that deregisters shows up as down
// for a while instead of silently vanishing from every list.
import { clone, create } from "@bufbuild/protobuf";
import {
  CheckTransitionSchema,
  HealthCheckSchema,
  HealthStatus,
  type ListServicesResponse,
  ListServicesResponseSchema,
  type ServiceInstance,
  ServiceInstanceSchema,
  type ServiceSummary,
  ServiceSummarySchema,
} from "../gen/agentplatform/v1/console_pb";
import { formatClock } from "./format";

/** Marks an instance the console added back after it left; the value is when it left (ms). */
export const goneMetaKey = "console.deregistered_at_ms";

interface Remembered {
  service: ServiceSummary;
  instance: ServiceInstance;
  /** Undefined while the registry still lists the instance. */
  goneAtMs: number | undefined;
}

/** Keyed by service name, then instance id. */
export type RegistryMemory = ReadonlyMap<string, ReadonlyMap<string, Remembered>>;

export const emptyMemory: RegistryMemory = new Map();

export interface MemoryOptions {
  nowMs: number;
  /** How long a departed instance stays listed; default 5 minutes. */
  retainMs?: number;
}

/** Folds a registry view into the memory; returns the view with departed instances added back. */
export function rememberView(
  memory: RegistryMemory,
  view: ListServicesResponse,
  options: MemoryOptions,
): { memory: RegistryMemory; view: ListServicesResponse } {
  const retainMs = options.retainMs ?? 5 * 60_000;
  const next = new Map<string, Map<string, Remembered>>();
  for (const service of view.services) {
    next.set(
      service.name,
      new Map(
        service.instances.map((instance) => [
          instance.instanceId,
          { service, instance, goneAtMs: undefined },
        ]),
      ),
    );
  }
  for (const [name, previous] of memory) {
    for (const [id, remembered] of previous) {
      let bucket = next.get(name);
      if (bucket?.has(id)) continue;
      const goneAtMs = remembered.goneAtMs ?? options.nowMs;
      if (options.nowMs - goneAtMs > retainMs) continue;
      if (bucket === undefined) {
        bucket = new Map();
        next.set(name, bucket);
      }
      bucket.set(id, { ...remembered, goneAtMs });
    }
  }

  const merged = clone(ListServicesResponseSchema, view);
  for (const [name, bucket] of next) {
    const gone = [...bucket.values()].filter((r) => r.goneAtMs !== undefined);
    const first = gone[0];
    if (first === undefined) continue;
    let service = merged.services.find((s) => s.name === name);
    if (service === undefined) {
      service = clone(ServiceSummarySchema, first.service);
      service.instances = [];
      service.passingInstances = 0;
      merged.services.push(service);
    }
    for (const r of gone) service.instances.push(departedInstance(r.instance, r.goneAtMs ?? 0));
    service.status = service.passingInstances > 0 ? HealthStatus.WARNING : HealthStatus.CRITICAL;
  }
  merged.services.sort((a, b) => a.name.localeCompare(b.name));
  return { memory: next, view: merged };
}

function departedInstance(instance: ServiceInstance, goneAtMs: number): ServiceInstance {
  const output = `Deregistered: the instance left the registry at ${formatClock(goneAtMs)}.`;
  const copy = clone(ServiceInstanceSchema, instance);
  const earlier = instance.checks.flatMap((c) => c.history).sort((a, b) => Number(a.atMs - b.atMs));
  copy.status = HealthStatus.CRITICAL;
  copy.meta[goneMetaKey] = String(goneAtMs);
  copy.checks = [
    create(HealthCheckSchema, {
      checkId: "console:registered",
      name: "Registered",
      status: HealthStatus.CRITICAL,
      output,
      history: [
        ...earlier,
        create(CheckTransitionSchema, {
          status: HealthStatus.CRITICAL,
          atMs: BigInt(goneAtMs),
          output,
        }),
      ],
    }),
  ];
  return copy;
}

/** When the instance left the registry, for instances the console added back. */
export function departedAtMs(instance: ServiceInstance): number | undefined {
  const raw = instance.meta[goneMetaKey];
  return raw === undefined ? undefined : Number(raw);
}
