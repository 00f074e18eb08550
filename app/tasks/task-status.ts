"use client";
// Follows one job with GetTaskStatus, polling once a second until it reaches a final state.
import { useTransport } from "@connectrpc/connect-query";
import { useQuery } from "@tanstack/react-query";
import type { Tone } from "../../components/health";
import { invokeUnary } from "../../components/invoke-unary";
import type { StartedTask } from "../../components/task-list";
import {
  TaskState,
  TaskStatusRequestSchema,
  type TaskStatusResponse,
  TaskStatusResponseSchema,
} from "../../gen/agentplatform/v1/platform_pb";

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

export function useTaskStatus(task: StartedTask) {
  const transport = useTransport();
  return useQuery<TaskStatusResponse>({
    queryKey: ["task-status", task.workerId, task.taskId],
    queryFn: ({ signal }) =>
      invokeUnary({
        transport,
        method: "/agentplatform.v1.TaskWorker/GetTaskStatus",
        input: TaskStatusRequestSchema,
        output: TaskStatusResponseSchema,
        request: { taskId: task.taskId, workerId: task.workerId },
        signal,
      }),
    refetchInterval: (query) => (isFinal(query.state.data?.state) ? false : 1000),
    retry: 1,
    staleTime: 500,
  });
}
