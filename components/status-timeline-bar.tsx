// A check's recent status history as a coloured bar, so flapping is visible at a glance. A
// failure shorter than a pixel still gets a visible sliver: a one-second blip must not vanish.
import type { CheckTransition } from "../gen/agentplatform/v1/console_pb";
import { formatClock } from "./format";
import { healthLabel, healthTone, healthWindowMs } from "./health";
import { timelineSegments } from "./status-timeline";

/** Must match the min-width of failing segments in globals.css. */
const minFailureWidthPx = 3;

export function StatusTimelineBar({
  history,
  nowMs,
  windowMs = healthWindowMs,
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
            data-status={healthLabel(s.status)}
            style={{
              // Kept inside the bar even when the minimum width pushes past "now".
              left: `min(${((s.fromMs - fromMs) / windowMs) * 100}%, calc(100% - ${minFailureWidthPx}px))`,
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
