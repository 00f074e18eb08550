"use client";
// One remembered job in the list, with its live state and progress.
import { formatAgo } from "../../components/format";
import type { StartedTask } from "../../components/task-list";
import { useNow } from "../../components/use-now";
import { taskStateLabel, taskStateTone, useTaskStatus } from "./task-status";

export function TaskRow({
  task,
  selected,
  onSelect,
}: {
  task: StartedTask;
  selected: boolean;
  onSelect: () => void;
}) {
  const status = useTaskStatus(task);
  const now = useNow(10_000);
  const state = status.data?.state;
  const label =
    status.error !== null && status.data === undefined ? "unreachable" : taskStateLabel(state);
  return (
    <li>
      <button
        type="button"
        className="history-item"
        aria-current={selected ? "true" : undefined}
        style={selected ? { background: "var(--accent-soft)" } : undefined}
        onClick={onSelect}
        data-testid={`task-row-${task.taskId}`}
        data-state={label}
      >
        <span className={`badge tone-${taskStateTone(state)}`}>{label}</span>
        <span className="truncate" style={{ flex: 1 }}>
          {task.input}
          <br />
          <span className="faint mono">
            {task.taskId} · {task.workerId}
          </span>
        </span>
        <span className="muted nowrap">
          {status.data !== undefined ? `${status.data.progress}% · ` : ""}
          {formatAgo(task.startedAtMs, now)}
        </span>
      </button>
    </li>
  );
}
