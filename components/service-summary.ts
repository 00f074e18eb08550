// Aggregates the registry view into what the overview and filters need.
import {
  type CheckTransition,
  HealthStatus,
  type ServiceSummary,
} from "../gen/agentplatform/v1/console_pb";
import { type HealthFilter, healthLabel, type Tone } from "./health";

export const serviceKinds = ["agent", "tool", "worker", "router", "other"] as const;
export type ServiceKind = (typeof serviceKinds)[number];

export function parseKind(raw: string | null): ServiceKind | undefined {
  return serviceKinds.find((k) => k === raw);
}

export function kindPlural(kind: ServiceKind): string {
  return kind === "other" ? "other" : `${kind}s`;
}

export interface KindSummary {
  kind: ServiceKind;
  services: number;
  servicesPassing: number;
  instances: number;
  instancesPassing: number;
  instancesCritical: number;
  tone: Tone;
}

export function summariseKind(services: readonly ServiceSummary[], kind: ServiceKind): KindSummary {
  const ofKind = services.filter((s) => (s.kind || "other") === kind);
  let instances = 0;
  let instancesPassing = 0;
  let instancesCritical = 0;
  let servicesPassing = 0;
  let anyServiceDown = false;
  for (const service of ofKind) {
    instances += service.instances.length;
    const passing = service.instances.filter((i) => i.status === HealthStatus.PASSING).length;
    instancesPassing += passing;
    instancesCritical += service.instances.filter((i) => i.status === HealthStatus.CRITICAL).length;
    if (passing > 0 && passing === service.instances.length) servicesPassing++;
    if (passing === 0) anyServiceDown = true;
  }
  let tone: Tone = "ok";
  if (instances === 0) tone = "muted";
  else if (anyServiceDown) tone = "bad";
  else if (instancesPassing < instances) tone = "warn";
  return {
    kind,
    services: ofKind.length,
    servicesPassing,
    instances,
    instancesPassing,
    instancesCritical,
    tone,
  };
}

export interface FailureEvent {
  atMs: number;
  service: string;
  instanceId: string;
  check: string;
  status: HealthStatus;
  output: string;
}

/** Checks that went warning or critical since `sinceMs`, newest first. */
export function recentCheckFailures(
  services: readonly ServiceSummary[],
  sinceMs: number,
  limit = 8,
): FailureEvent[] {
  const events: FailureEvent[] = [];
  for (const service of services) {
    for (const instance of service.instances) {
      for (const check of instance.checks) {
        const transitions: readonly CheckTransition[] = check.history;
        for (const t of transitions) {
          const atMs = Number(t.atMs);
          if (atMs < sinceMs) continue;
          if (t.status !== HealthStatus.CRITICAL && t.status !== HealthStatus.WARNING) continue;
          events.push({
            atMs,
            service: service.name,
            instanceId: instance.instanceId,
            check: check.name || check.checkId,
            status: t.status,
            output: t.output || check.output,
          });
        }
      }
    }
  }
  events.sort((a, b) => b.atMs - a.atMs);
  return events.slice(0, limit);
}

/** The services page filter: kind, status word and free text over names and capabilities. */
export function matchesFilter(
  service: ServiceSummary,
  kind: ServiceKind | undefined,
  status: HealthFilter | undefined,
  text: string,
): boolean {
  if (kind !== undefined && (service.kind || "other") !== kind) return false;
  if (status !== undefined && healthLabel(service.status) !== status) return false;
  const q = text.trim().toLowerCase();
  if (q === "") return true;
  return [
    service.name,
    service.clientId,
    service.description,
    ...service.capabilities,
    ...service.tags,
  ].some((field) => field.toLowerCase().includes(q));
}
