// A check's recent status history as a coloured bar, so flapping is visible at a glance.
import type { CheckTransition } from "../gen/agentplatform/v1/console_pb";
import { formatClock } from "./format";
import { healthLabel, healthTone } from "./health";
import { timelineSegments } from "./status-timeline";

export function StatusTimelineBar({
  history,
  nowMs,
  windowMs = 15 * 60_000,
  label,
}: {
  history: readonly CheckTransition[];
  nowMs: number;
  windowMs?: number;
  label: string;
}) {
  const fromMs = nowMs - windowMs;
  const segments = timelineSegments(history, fromMs, nowMs);
  const changes = history.filter((h) => Number(h.atMs) >= fromMs).length;
  const description = segments
    .filter((s) => s.status !== 0)
    .map((s) => `${healthLabel(s.status)} from ${formatClock(s.fromMs)}`)
    .join(", ");
  return (
    <div className="timeline">
      <div
        className="timeline-bar"
        role="img"
        aria-label={`${label}, last ${Math.round(windowMs / 60_000)} minutes: ${description || "no data"}`}
        data-testid="status-timeline"
        data-changes={changes}
      >
        {segments.map((s) => (
          <span
            key={s.fromMs}
            className={`tone-${healthTone(s.status)}`}
            style={{
              left: `${((s.fromMs - fromMs) / windowMs) * 100}%`,
              width: `${((s.toMs - s.fromMs) / windowMs) * 100}%`,
            }}
            title={`${healthLabel(s.status)} ${formatClock(s.fromMs)}–${formatClock(s.toMs)}`}
          />
        ))}
      </div>
      <div className="timeline-axis" aria-hidden="true">
        <span>{Math.round(windowMs / 60_000)} min ago</span>
        <span>now</span>
      </div>
    </div>
  );
}
