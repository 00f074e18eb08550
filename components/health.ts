// Health status words, tones and ordering shared by every view.
import { HealthStatus } from "../gen/agentplatform/v1/console_pb";

/** The window of check history every page shows: Overview's failures and the status bars. */
export const healthWindowMs = 30 * 60_000;

export type Tone = "ok" | "warn" | "bad" | "muted";

export function healthLabel(status: HealthStatus): string {
  switch (status) {
    case HealthStatus.PASSING:
      return "passing";
    case HealthStatus.WARNING:
      return "warning";
    case HealthStatus.CRITICAL:
      return "critical";
    default:
      return "unknown";
  }
}

export function healthTone(status: HealthStatus): Tone {
  switch (status) {
    case HealthStatus.PASSING:
      return "ok";
    case HealthStatus.WARNING:
      return "warn";
    case HealthStatus.CRITICAL:
      return "bad";
    default:
      return "muted";
  }
}

/** Worst first, so sorted lists put what needs attention on top. */
export function healthSeverity(status: HealthStatus): number {
  switch (status) {
    case HealthStatus.CRITICAL:
      return 0;
    case HealthStatus.WARNING:
      return 1;
    case HealthStatus.UNSPECIFIED:
      return 2;
    default:
      return 3;
  }
}

export const healthFilterValues = ["passing", "warning", "critical"] as const;
export type HealthFilter = (typeof healthFilterValues)[number];

export function parseHealthFilter(raw: string | null): HealthFilter | undefined {
  return healthFilterValues.find((v) => v === raw);
}
