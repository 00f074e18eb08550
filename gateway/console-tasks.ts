// The Tasks page's server side: jobs of every task worker through the routers (TaskWorker.ListTasks
// on each), merged newest first, and one job's status, for any signed-in viewer.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import type {
  GetConsoleTaskRequest,
  ListConsoleTasksRequest,
  ListConsoleTasksResponseSchema,
} from "../gen/agentplatform/v1/console_pb";
import {
  type TaskStatusResponse,
  TaskStatusResponseSchema,
  TaskWorker,
} from "../gen/agentplatform/v1/platform_pb";
import { codeName } from "./status-codes";

export interface ConsoleTasksOptions {
  /** Reaches the routers. */
  transport: Transport;
  /** Client ids of the registered task workers, read at each call. */
  workers: () => string[];
  /** Per worker call. Default 5000 ms. */
  timeoutMs?: number;
}

const maxTokenBytes = 8192;
const maxWorkers = 64;

/** The console's page token: each worker's own ListTasks token, or "" once it has no more. */
type PageToken = Record<string, string>;

function parseToken(raw: string): PageToken | undefined {
  if (raw === "") return undefined;
  const invalid = () =>
    new ConnectError("page_token is not one this gateway gave out", Code.InvalidArgument);
  if (raw.length > maxTokenBytes) throw invalid();
  try {
    const value: unknown = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"));
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw invalid();
    const out: PageToken = {};
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== "string") throw invalid();
      out[k] = v;
    }
    if (Object.keys(out).length > maxWorkers) throw invalid();
    return out;
  } catch {
    throw invalid();
  }
}

export function createConsoleTasks(options: ConsoleTasksOptions) {
  const client = createClient(TaskWorker, options.transport);
  const timeoutMs = options.timeoutMs ?? 5000;

  return {
    async list(
      req: ListConsoleTasksRequest,
      signal: AbortSignal,
    ): Promise<MessageInitShape<typeof ListConsoleTasksResponseSchema>> {
      const token = parseToken(req.pageToken);
      const workerId = req.workerId.trim();
      // A later page asks only the workers that still had more.
      const workers = token
        ? Object.keys(token).filter((w) => token[w] !== "")
        : workerId !== ""
          ? [workerId]
          : options.workers().slice(0, maxWorkers);
      const pageSize = Math.min(req.pageSize || 50, 500);
      const answers = await Promise.all(
        workers.map(async (worker) => {
          try {
            const res = await client.listTasks(
              {
                workerId: worker,
                pageSize,
                pageToken: token?.[worker] ?? "",
                states: req.states,
                createdAfterMs: req.createdAfterMs,
                createdBeforeMs: req.createdBeforeMs,
              },
              { signal, timeoutMs },
            );
            return { worker, tasks: res.tasks, next: res.nextPageToken };
          } catch (err) {
            const error = ConnectError.from(err);
            return { worker, error };
          }
        }),
      );
      const tasks: TaskStatusResponse[] = [];
      const next: PageToken = {};
      const errors = [];
      for (const a of answers) {
        if ("error" in a && a.error) {
          errors.push({
            workerId: a.worker,
            code: codeName(a.error.code),
            message: a.error.rawMessage,
          });
          continue;
        }
        if (!("tasks" in a) || a.tasks === undefined) continue;
        for (const t of a.tasks) {
          tasks.push(
            t.workerId === "" ? create(TaskStatusResponseSchema, { ...t, workerId: a.worker }) : t,
          );
        }
        if (a.next) next[a.worker] = a.next;
      }
      tasks.sort((a, b) => Number(b.createdAtMs - a.createdAtMs));
      const more = Object.keys(next).length > 0;
      return {
        tasks,
        nextPageToken: more ? Buffer.from(JSON.stringify(next)).toString("base64url") : "",
        errors,
      };
    },

    async get(req: GetConsoleTaskRequest, signal: AbortSignal): Promise<TaskStatusResponse> {
      if (req.workerId.trim() === "" || req.taskId.trim() === "") {
        throw new ConnectError("worker_id and task_id are both required", Code.InvalidArgument);
      }
      return client.getTaskStatus(
        { workerId: req.workerId.trim(), taskId: req.taskId.trim() },
        { signal, timeoutMs },
      );
    },
  };
}
