"use client";
// Follows one job through the gateway's GetTask (any signed-in viewer may), polling once a
// second until it reaches a final state.
import { createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { useQuery } from "@tanstack/react-query";
import type { Tone } from "../../components/health";
import { ConsoleService } from "../../gen/agentplatform/v1/console_pb";
import { TaskState, type TaskStatusResponse } from "../../gen/agentplatform/v1/platform_pb";

/** A job is known by its worker and its id. */
export interface TaskRef {
  workerId: string;
  taskId: string;
}

export const taskStates = [
  TaskState.PENDING,
  TaskState.RUNNING,
  TaskState.SUCCEEDED,
  TaskState.FAILED,
  TaskState.CANCELLED,
] as const;

export function isFinal(state: TaskState | undefined): boolean {
  return (
    state === TaskState.SUCCEEDED || state === TaskState.FAILED || state === TaskState.CANCELLED
  );
}

export function taskStateLabel(state: TaskState | undefined): string {
  switch (state) {
    case TaskState.PENDING:
      return "pending";
    case TaskState.RUNNING:
      return "running";
    case TaskState.SUCCEEDED:
      return "succeeded";
    case TaskState.FAILED:
      return "failed";
    case TaskState.CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

export function taskStateTone(state: TaskState | undefined): Tone | "accent" {
  switch (state) {
    case TaskState.SUCCEEDED:
      return "ok";
    case TaskState.FAILED:
      return "bad";
    case TaskState.CANCELLED:
      return "warn";
    case TaskState.RUNNING:
      return "accent";
    default:
      return "muted";
  }
}

export function parseTaskState(raw: string | null): TaskState | undefined {
  return taskStates.find((s) => taskStateLabel(s) === raw);
}

export function useTaskStatus(task: TaskRef) {
  const transport = useTransport();
  return useQuery<TaskStatusResponse>({
    queryKey: ["task-status", task.workerId, task.taskId],
    queryFn: ({ signal }) =>
      createClient(ConsoleService, transport).getTask(
        { workerId: task.workerId, taskId: task.taskId },
        { signal },
      ),
    refetchInterval: (query) => (isFinal(query.state.data?.state) ? false : 1000),
    retry: 1,
    staleTime: 500,
  });
}
