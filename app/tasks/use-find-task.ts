"use client";
// Which worker holds a job: the link says so, or each registered worker is asked in turn.
import { createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { useQuery } from "@tanstack/react-query";
import { ConsoleService } from "../../gen/agentplatform/v1/console_pb";
import type { TaskRef } from "./task-status";

export function useFindTask(
  taskId: string | undefined,
  workerId: string | undefined,
  workers: readonly string[],
): { task: TaskRef | undefined; searching: boolean } {
  const transport = useTransport();
  const needSearch = taskId !== undefined && workerId === undefined;
  const search = useQuery({
    queryKey: ["find-task", taskId, workers.join(",")],
    enabled: needSearch && workers.length > 0,
    staleTime: Number.POSITIVE_INFINITY,
    queryFn: async ({ signal }) => {
      const client = createClient(ConsoleService, transport);
      for (const worker of workers) {
        try {
          await client.getTask({ workerId: worker, taskId: taskId ?? "" }, { signal });
          return worker;
        } catch {
          // Not this worker's (or it cannot answer now): ask the next one.
        }
      }
      return null;
    },
  });
  if (taskId === undefined) return { task: undefined, searching: false };
  if (workerId !== undefined) return { task: { taskId, workerId }, searching: false };
  const found = search.data;
  return {
    task: typeof found === "string" ? { taskId, workerId: found } : undefined,
    searching: search.isPending,
  };
}
