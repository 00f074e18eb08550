// A coloured health word, readable without colour thanks to the text.
import type { HealthStatus } from "../gen/agentplatform/v1/console_pb";
import { healthLabel, healthTone } from "./health";

export function StatusBadge({ status, testId }: { status: HealthStatus; testId?: string }) {
  const label = healthLabel(status);
  return (
    <span className={`badge tone-${healthTone(status)}`} data-testid={testId} data-status={label}>
      <span className="dot" aria-hidden="true" />
      {label}
    </span>
  );
}
