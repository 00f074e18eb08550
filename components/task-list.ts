// Jobs started from the Tasks page, kept in localStorage so they can be followed after a reload.
import { createLocalList, isRecord, stringRecord } from "./local-list";

export interface StartedTask {
  taskId: string;
  workerId: string;
  input: string;
  parameters: Record<string, string>;
  startedAtMs: number;
}

function parseTask(value: unknown): StartedTask | undefined {
  if (!isRecord(value)) return undefined;
  const { taskId, workerId, input, startedAtMs } = value;
  if (typeof taskId !== "string" || typeof workerId !== "string") return undefined;
  return {
    taskId,
    workerId,
    input: typeof input === "string" ? input : "",
    parameters: stringRecord(value.parameters),
    startedAtMs: typeof startedAtMs === "number" ? startedAtMs : 0,
  };
}

export const startedTasks = createLocalList("agentplatform.console.tasks", 30, parseTask);
