"use client";
// Every job of every task worker, as the workers' stores hold them (ListTasks through the
// gateway), newest first, filtered by worker, state and age; refreshed every two seconds.
import { createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { ErrorState, LoadingState } from "../../components/state-views";
import { useNow } from "../../components/use-now";
import { ConsoleService } from "../../gen/agentplatform/v1/console_pb";
import type { TaskState } from "../../gen/agentplatform/v1/platform_pb";
import { TaskRow } from "./task-row";
import { type TaskRef, taskStateLabel, taskStates } from "./task-status";

const ages = [
  { value: "", label: "any time", ms: 0 },
  { value: "1h", label: "last hour", ms: 3600_000 },
  { value: "24h", label: "last 24 hours", ms: 24 * 3600_000 },
  { value: "7d", label: "last 7 days", ms: 7 * 24 * 3600_000 },
] as const;

const pageStep = 50;
const maxPage = 500;

export interface TaskListFilter {
  workerId: string;
  state: TaskState | undefined;
  age: string;
}

export function useTaskList(filter: TaskListFilter, pageSize: number) {
  const transport = useTransport();
  const ageMs = ages.find((a) => a.value === filter.age)?.ms ?? 0;
  return useQuery({
    queryKey: ["console-tasks", filter.workerId, filter.state ?? 0, filter.age, pageSize],
    queryFn: ({ signal }) =>
      createClient(ConsoleService, transport).listTasks(
        {
          workerId: filter.workerId,
          states: filter.state === undefined ? [] : [filter.state],
          createdAfterMs: ageMs > 0 ? BigInt(Date.now() - ageMs) : 0n,
          pageSize,
        },
        { signal },
      ),
    refetchInterval: 2000,
    placeholderData: keepPreviousData,
  });
}

export function TaskListPanel({
  filter,
  onFilter,
  workers,
  selected,
  hrefOf,
}: {
  filter: TaskListFilter;
  onFilter: (changes: Record<string, string | undefined>) => void;
  workers: readonly string[];
  selected: TaskRef | undefined;
  hrefOf: (task: TaskRef) => string;
}) {
  const id = useId();
  const now = useNow(10_000);
  const [pageSize, setPageSize] = useState(pageStep);
  const list = useTaskList(filter, pageSize);
  const tasks = list.data?.tasks ?? [];

  return (
    <section className="card flush" aria-labelledby={`${id}-jobs`}>
      <div className="card-header">
        <h2 id={`${id}-jobs`} className="card-title">
          Jobs
        </h2>
        <span className="muted">from every worker's store</span>
      </div>
      <div className="card-body toolbar">
        <label className="field" style={{ flex: "1 1 160px" }}>
          <span className="field-label">Worker</span>
          <select
            className="select"
            value={filter.workerId}
            onChange={(e) => onFilter({ w: e.target.value })}
            data-testid="task-filter-worker"
          >
            <option value="">All workers</option>
            {workers.map((w) => (
              <option key={w} value={w}>
                {w}
              </option>
            ))}
          </select>
        </label>
        <label className="field" style={{ flex: "1 1 120px" }}>
          <span className="field-label">State</span>
          <select
            className="select"
            value={filter.state === undefined ? "" : taskStateLabel(filter.state)}
            onChange={(e) => onFilter({ state: e.target.value })}
            data-testid="task-filter-state"
          >
            <option value="">Any state</option>
            {taskStates.map((s) => (
              <option key={s} value={taskStateLabel(s)}>
                {taskStateLabel(s)}
              </option>
            ))}
          </select>
        </label>
        <label className="field" style={{ flex: "1 1 120px" }}>
          <span className="field-label">Created</span>
          <select
            className="select"
            value={filter.age}
            onChange={(e) => onFilter({ age: e.target.value })}
            data-testid="task-filter-age"
          >
            {ages.map((a) => (
              <option key={a.value} value={a.value}>
                {a.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {list.data?.errors.map((e) => (
        <p key={e.workerId} className="inline-error card-body" data-testid="task-list-error">
          {e.workerId} did not answer ({e.code}): {e.message}
        </p>
      ))}
      {list.data === undefined ? (
        list.isPending ? (
          <div className="card-body">
            <LoadingState rows={3} label="Reading the workers' jobs" />
          </div>
        ) : (
          <div className="card-body">
            <ErrorState error={list.error} onRetry={() => void list.refetch()} />
          </div>
        )
      ) : tasks.length === 0 && !list.isPlaceholderData ? (
        <p className="card-body muted" data-testid="tasks-empty">
          No job matches. Jobs started from any client (the console, grpcurl, an SDK) show here.
        </p>
      ) : (
        <ul
          className="history-list"
          data-testid="task-list"
          data-count={tasks.length}
          aria-busy={list.isPlaceholderData}
        >
          {tasks.map((task) => (
            <TaskRow
              key={`${task.workerId}/${task.taskId}`}
              task={task}
              now={now}
              href={hrefOf(task)}
              selected={selected?.taskId === task.taskId && selected.workerId === task.workerId}
            />
          ))}
        </ul>
      )}
      {list.data !== undefined && list.data.nextPageToken !== "" && (
        <div className="card-body">
          {pageSize < maxPage ? (
            <button
              type="button"
              className="button small"
              onClick={() => setPageSize((n) => Math.min(n + pageStep, maxPage))}
              data-testid="task-more"
            >
              Show {pageStep} more
            </button>
          ) : (
            <span className="muted">
              Showing the newest {maxPage} per worker; narrow by worker, state or time to see older
              jobs.
            </span>
          )}
        </div>
      )}
    </section>
  );
}
