"use client";
// One job in full: state, progress, steps, result or error, and cancel.
import { useTransport } from "@connectrpc/connect-query";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { formatAgo, formatDateTime } from "../../components/format";
import { Icon } from "../../components/icons";
import { invokeUnary } from "../../components/invoke-unary";
import { ErrorState, LoadingState } from "../../components/state-views";
import { useNow } from "../../components/use-now";
import {
  CancelTaskRequestSchema,
  TaskState,
  TaskStatusResponseSchema,
} from "../../gen/agentplatform/v1/platform_pb";
import { TaskResult } from "./task-result";
import { isFinal, type TaskRef, taskStateLabel, taskStateTone, useTaskStatus } from "./task-status";

export function TaskDetail({
  task,
  canCancel,
  onClose,
}: {
  task: TaskRef;
  canCancel: boolean;
  onClose: () => void;
}) {
  const transport = useTransport();
  const queryClient = useQueryClient();
  const status = useTaskStatus(task);
  const now = useNow(5000);
  const cancel = useMutation({
    mutationFn: () =>
      invokeUnary({
        transport,
        method: "/agentplatform.v1.TaskWorker/CancelTask",
        input: CancelTaskRequestSchema,
        output: TaskStatusResponseSchema,
        request: {
          taskId: task.taskId,
          workerId: task.workerId,
          reason: "cancelled from the console",
        },
      }),
    onSuccess: (response) =>
      queryClient.setQueryData(["task-status", task.workerId, task.taskId], response),
  });
  const data = status.data;
  const state = data?.state;
  const tone = taskStateTone(state);

  return (
    <section className="card section" aria-labelledby="task-detail-title" data-testid="task-detail">
      <div className="section-header">
        <h2 id="task-detail-title" className="card-title" style={{ margin: 0 }}>
          Job <span className="mono">{task.taskId}</span>
        </h2>
        <span
          className={`badge tone-${tone}`}
          data-testid="task-state"
          data-state={taskStateLabel(state)}
        >
          {taskStateLabel(state)}
        </span>
      </div>
      <dl className="kv">
        <dt>Worker</dt>
        <dd className="mono">{task.workerId}</dd>
        {data !== undefined && data.createdAtMs > 0n && (
          <>
            <dt>Created</dt>
            <dd data-testid="task-created">
              {formatDateTime(Number(data.createdAtMs))} ({formatAgo(Number(data.createdAtMs), now)}
              )
            </dd>
          </>
        )}
        {data !== undefined && data.updatedAtMs > 0n && (
          <>
            <dt>Updated</dt>
            <dd>{formatAgo(Number(data.updatedAtMs), now)}</dd>
          </>
        )}
      </dl>

      {data === undefined ? (
        status.isPending ? (
          <LoadingState rows={2} label="Reading the job's status" />
        ) : (
          <ErrorState
            error={status.error}
            onRetry={() => void status.refetch()}
            context="Reading the job"
          />
        )
      ) : (
        <>
          <div className="field">
            <div className="row">
              <span className="field-label">Progress</span>
              <span className="spacer" />
              <span className="muted" data-testid="task-progress">
                {data.progress}%
              </span>
            </div>
            <div
              className={`progress tone-${tone}`}
              role="progressbar"
              aria-valuemin={0}
              aria-valuemax={100}
              aria-valuenow={data.progress}
              aria-label="Job progress"
            >
              <span style={{ width: `${data.progress}%` }} />
            </div>
            {data.message !== "" && <span className="muted">{data.message}</span>}
          </div>
          {data.steps.length > 0 && (
            <div className="field">
              <span className="field-label">Steps</span>
              <ol className="steps">
                {data.steps.map((step, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: steps are ordered and may share names.
                  <li key={i}>
                    <span className={`badge tone-${taskStateTone(step.state)}`}>
                      {taskStateLabel(step.state)}
                    </span>
                    <span>
                      <strong>{step.name}</strong>
                      {step.detail !== "" && <span className="muted"> · {step.detail}</span>}
                    </span>
                  </li>
                ))}
              </ol>
            </div>
          )}
          {data.state === TaskState.SUCCEEDED && <TaskResult output={data.output} />}
          {data.error !== "" && (
            <p className="inline-error" role="alert" data-testid="task-error">
              {data.error}
            </p>
          )}
          {status.error !== null && (
            <ErrorState error={status.error} context="Refreshing the job" />
          )}
        </>
      )}
      <div className="form-actions">
        {!isFinal(state) && (
          <button
            type="button"
            className="button danger"
            onClick={() => cancel.mutate()}
            disabled={!canCancel || cancel.isPending}
            data-testid="task-cancel"
          >
            <Icon name="stop" size={16} /> {cancel.isPending ? "Cancelling…" : "Cancel job"}
          </button>
        )}
        <button type="button" className="button ghost" onClick={onClose}>
          Close
        </button>
      </div>
      {cancel.error !== null && <ErrorState error={cancel.error} context="Cancelling" />}
    </section>
  );
}
