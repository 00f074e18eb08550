"use client";
// One job in the server's list: state, progress, worker and age; links to its detail.
import Link from "next/link";
import { formatAgo, formatDateTime } from "../../components/format";
import type { TaskStatusResponse } from "../../gen/agentplatform/v1/platform_pb";
import { taskStateLabel, taskStateTone } from "./task-status";

export function TaskRow({
  task,
  selected,
  href,
  now,
}: {
  task: TaskStatusResponse;
  selected: boolean;
  href: string;
  now: number;
}) {
  const label = taskStateLabel(task.state);
  const created = Number(task.createdAtMs);
  return (
    <li>
      <Link
        href={href}
        scroll={false}
        className="history-item"
        aria-current={selected ? "true" : undefined}
        style={selected ? { background: "var(--accent-soft)" } : undefined}
        data-testid={`task-row-${task.taskId}`}
        data-state={label}
      >
        <span className={`badge tone-${taskStateTone(task.state)}`}>{label}</span>
        <span className="truncate" style={{ flex: 1 }}>
          <span className="mono">{task.taskId}</span>
          <br />
          <span className="faint">
            {task.workerId}
            {task.message !== "" ? ` · ${task.message}` : ""}
          </span>
        </span>
        <span className="muted nowrap" title={formatDateTime(created)}>
          {task.progress}% · {formatAgo(created, now)}
        </span>
      </Link>
    </li>
  );
}
