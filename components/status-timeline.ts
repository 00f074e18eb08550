// Turns a check's status changes into segments of a time window, for the status timeline bar.
import { type CheckTransition, HealthStatus } from "../gen/agentplatform/v1/console_pb";

export interface TimelineSegment {
  fromMs: number;
  toMs: number;
  /** UNSPECIFIED where nothing is known (before the first recorded status). */
  status: HealthStatus;
}

/** Segments covering [fromMs, toMs]; history is oldest first as the gateway sends it. */
export function timelineSegments(
  history: readonly CheckTransition[],
  fromMs: number,
  toMs: number,
): TimelineSegment[] {
  const points = history
    .map((t) => ({ atMs: Number(t.atMs), status: t.status }))
    .sort((a, b) => a.atMs - b.atMs);
  const segments: TimelineSegment[] = [];
  let cursor = fromMs;
  let status: HealthStatus = HealthStatus.UNSPECIFIED;
  for (const point of points) {
    if (point.atMs <= fromMs) {
      status = point.status;
      continue;
    }
    if (point.atMs >= toMs) break;
    push(segments, cursor, point.atMs, status);
    cursor = point.atMs;
    status = point.status;
  }
  push(segments, cursor, toMs, status);
  return segments;
}

function push(segments: TimelineSegment[], fromMs: number, toMs: number, status: HealthStatus) {
  if (toMs <= fromMs) return;
  const last = segments.at(-1);
  if (last !== undefined && last.status === status && last.toMs === fromMs) last.toMs = toMs;
  else segments.push({ fromMs, toMs, status });
}

/** Status changes inside the window, the number an operator reads as "flapping". */
export function changesSince(history: readonly CheckTransition[], sinceMs: number): number {
  return Math.max(0, history.filter((t) => Number(t.atMs) >= sinceMs).length - 1);
}
