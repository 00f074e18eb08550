"use client";
// Tasks: every job of every task worker from the server, started from anywhere; start a job,
// follow one live, cancel it.
import { ConnectError } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { useMutation } from "@tanstack/react-query";
import { useSearchParams } from "next/navigation";
import { type FormEvent, useId, useState } from "react";
import { Icon } from "../../components/icons";
import { invokeUnary } from "../../components/invoke-unary";
import { RemoveButton } from "../../components/remove-button";
import { useServices } from "../../components/services-feed";
import { roleLabel, useSession } from "../../components/session-context";
import { ErrorState } from "../../components/state-views";
import { useSetSearchParams } from "../../components/use-search-param";
import { TaskRequestSchema, TaskResponseSchema } from "../../gen/agentplatform/v1/platform_pb";
import { TaskDetail } from "./task-detail";
import { TaskListPanel } from "./task-list-panel";
import { parseTaskState, type TaskRef } from "./task-status";
import { useFindTask } from "./use-find-task";

export function TasksView() {
  const transport = useTransport();
  const { canInvoke, session } = useSession();
  const services = useServices();
  const params = useSearchParams();
  const setParams = useSetSearchParams();
  const id = useId();

  const workers = (services.data?.services ?? []).filter(
    (s) => s.kind === "worker" && s.clientId !== "",
  );
  const workerIds = workers.map((w) => w.clientId);
  const [workerId, setWorkerId] = useState("itinerary-worker");
  const [input, setInput] = useState("");
  const [parameters, setParameters] = useState<Array<[string, string]>>([]);
  const selectedId = params.get("task") ?? undefined;
  // Links without a worker (older ones, or typed by hand) are looked up on every worker.
  const found = useFindTask(selectedId, params.get("worker") ?? undefined, workerIds);
  const selected: TaskRef | undefined = found.task;
  const filter = {
    workerId: params.get("w") ?? "",
    state: parseTaskState(params.get("state")),
    age: params.get("age") ?? "",
  };
  const hrefOf = (task: TaskRef) => {
    const next = new URLSearchParams(params.toString());
    next.set("task", task.taskId);
    next.set("worker", task.workerId);
    return `/tasks?${next.toString()}`;
  };

  const start = useMutation({
    mutationFn: async (task: {
      workerId: string;
      input: string;
      parameters: Record<string, string>;
    }): Promise<TaskRef> => {
      const response = await invokeUnary({
        transport,
        method: "/agentplatform.v1.TaskWorker/ProcessTask",
        input: TaskRequestSchema,
        output: TaskResponseSchema,
        request: { agentId: task.workerId, input: task.input, parameters: task.parameters },
      });
      if (!response.success || response.taskId === "") {
        throw new Error(response.error || "The worker did not accept the job.");
      }
      return { workerId: task.workerId, taskId: response.taskId };
    },
    onSuccess: (task) => {
      setParams({ task: task.taskId, worker: task.workerId });
      setInput("");
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!canInvoke || input.trim() === "") return;
    start.mutate({
      workerId,
      input: input.trim(),
      parameters: Object.fromEntries(parameters.filter(([k]) => k.trim() !== "")),
    });
  }

  return (
    <div className="page" data-testid="tasks-page">
      <div className="page-header">
        <div>
          <h1>Tasks</h1>
          <p>Long-running jobs on task workers: start one, follow it, read its result.</p>
        </div>
      </div>

      <div className="split">
        <div className="section">
          <form className="card section" onSubmit={submit} aria-labelledby={`${id}-start`}>
            <h2 id={`${id}-start`} className="card-title" style={{ margin: 0 }}>
              Start a job
            </h2>
            {!canInvoke && (
              <p className="inline-error" role="note" data-testid="tasks-forbidden">
                <Icon name="lock" size={14} /> Your role ({roleLabel(session?.role ?? 0)}) cannot
                start jobs. Operators and admins can.
              </p>
            )}
            <div className="field">
              <label htmlFor={`${id}-worker`} className="field-label">
                Worker
              </label>
              <select
                id={`${id}-worker`}
                className="select"
                value={workerId}
                onChange={(e) => setWorkerId(e.target.value)}
                data-testid="task-worker"
              >
                {workers.map((w) => (
                  <option key={w.name} value={w.clientId}>
                    {w.clientId} ({w.passingInstances}/{w.instances.length} passing)
                  </option>
                ))}
                {!workers.some((w) => w.clientId === workerId) && (
                  <option value={workerId}>{workerId} (not registered)</option>
                )}
              </select>
            </div>
            <div className="field">
              <label htmlFor={`${id}-input`} className="field-label">
                Input
              </label>
              <textarea
                id={`${id}-input`}
                className="textarea"
                style={{ fontFamily: "var(--font-sans)", fontSize: 14 }}
                rows={3}
                placeholder="Lisbon"
                value={input}
                onChange={(e) => setInput(e.target.value)}
                data-testid="task-input"
              />
              <span className="field-hint">
                What the worker works on; the itinerary worker takes a destination such as Lisbon,
                with days and start_date as parameters.
              </span>
            </div>
            <ParameterRows rows={parameters} onChange={setParameters} />
            <div className="form-actions">
              <button
                type="submit"
                className="button primary"
                disabled={!canInvoke || input.trim() === "" || start.isPending}
                data-testid="task-start"
              >
                <Icon name="run" size={16} /> {start.isPending ? "Starting…" : "Start job"}
              </button>
            </div>
            {start.error !== null && (
              <ErrorState error={ConnectError.from(start.error)} context="Starting the job" />
            )}
          </form>

          <TaskListPanel
            filter={filter}
            onFilter={setParams}
            workers={workerIds}
            selected={selected}
            hrefOf={hrefOf}
          />
        </div>

        <div className="section">
          {selected === undefined ? (
            <section className="card">
              <h2 className="card-title">Job</h2>
              <p className="muted" style={{ margin: 0 }} data-testid="task-none">
                {selectedId === undefined
                  ? "Start a job or pick one from the list to follow it here."
                  : services.data !== undefined && workerIds.length === 0
                    ? `No task worker is registered, so job ${selectedId} cannot be looked up.`
                    : found.searching
                      ? `Looking for job ${selectedId} on every worker…`
                      : `No worker knows a job ${selectedId}.`}
              </p>
            </section>
          ) : (
            <TaskDetail
              task={selected}
              canCancel={canInvoke}
              onClose={() => setParams({ task: undefined, worker: undefined })}
            />
          )}
        </div>
      </div>
    </div>
  );
}

function ParameterRows({
  rows,
  onChange,
}: {
  rows: Array<[string, string]>;
  onChange: (rows: Array<[string, string]>) => void;
}) {
  return (
    <fieldset className="schema-group">
      <legend>parameters</legend>
      {rows.map(([key, value], i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows are identified by position while keys are edited.
        <div key={i} className="pair-row">
          <input
            className="input mono"
            aria-label={`Parameter name ${i + 1}`}
            placeholder="days"
            value={key}
            onChange={(e) => onChange(rows.map((r, j) => (j === i ? [e.target.value, r[1]] : r)))}
          />
          <input
            className="input mono"
            aria-label={`Parameter value ${i + 1}`}
            placeholder="3"
            value={value}
            onChange={(e) => onChange(rows.map((r, j) => (j === i ? [r[0], e.target.value] : r)))}
          />
          <RemoveButton
            label={`Remove parameter ${key || i + 1}`}
            onClick={() => onChange(rows.filter((_, j) => j !== i))}
          />
        </div>
      ))}
      <div>
        <button
          type="button"
          className="button small"
          onClick={() => onChange([...rows, ["", ""]])}
        >
          <Icon name="plus" size={14} /> Add parameter
        </button>
      </div>
    </fieldset>
  );
}
