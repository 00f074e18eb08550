// agentplatform.v1.TaskWorker over a job runner: accept at once, report from the shared store.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  ListTasksResponseSchema,
  ListWorkersResponseSchema,
  TaskResponseSchema,
  TaskState,
  type TaskStatusResponse,
  TaskStatusResponseSchema,
  TaskWorker,
  WorkerInfoSchema,
} from "../../../gen/agentplatform/v1/platform_pb";
import { clientId, versionOf, type WorkerDefinition } from "../definitions";
import { toConnectError } from "../service-context";
import type { ServiceRuntime } from "../service-runtime";
import type { JobRunner } from "./job-runner";
import { encodePageToken, taskQueryFrom } from "./task-query";
import type { StoredTask } from "./task-store";

export function statusResponse(task: StoredTask): TaskStatusResponse {
  return create(TaskStatusResponseSchema, {
    taskId: task.taskId,
    state: TaskState[task.state],
    progress: task.progress,
    message: task.message,
    output: task.output,
    error: task.error,
    createdAtMs: BigInt(task.createdAtMs),
    updatedAtMs: BigInt(task.updatedAtMs),
    steps: task.steps.map((s) => ({ name: s.name, state: TaskState[s.state], detail: s.detail })),
    metadata: { ...task.metadata, attempt: String(task.attempt) },
    workerId: task.worker,
  });
}

export function workerRoutes(
  worker: WorkerDefinition,
  runnerOf: () => JobRunner | undefined,
  runtime: ServiceRuntime,
) {
  const id = clientId(worker);
  const log = runtime.logger;
  const ready = () => {
    const runner = runnerOf();
    if (!runner) throw new ConnectError(`${id} is starting`, Code.Unavailable);
    return runner;
  };
  const requireTaskId = (taskId: string) => {
    if (taskId === "") throw new ConnectError("task_id is required", Code.InvalidArgument);
  };
  return (router: ConnectRouter) => {
    router.service(TaskWorker, {
      async processTask(request) {
        try {
          const task = await ready().submit(request);
          return create(TaskResponseSchema, {
            taskId: task.taskId,
            output: `accepted; follow it with GetTaskStatus(task_id="${task.taskId}")`,
            success: true,
            metadata: { state: task.state, worker_id: id },
          });
        } catch (err) {
          throw toConnectError(err, log, "ProcessTask");
        }
      },
      async getTaskStatus(request) {
        requireTaskId(request.taskId);
        try {
          return statusResponse(await ready().status(request.taskId));
        } catch (err) {
          throw toConnectError(err, log, "GetTaskStatus");
        }
      },
      async cancelTask(request) {
        requireTaskId(request.taskId);
        try {
          const reason = request.reason || "cancelled by the caller";
          return statusResponse(await ready().cancel(request.taskId, reason));
        } catch (err) {
          throw toConnectError(err, log, "CancelTask");
        }
      },
      async listTasks(request) {
        if (request.workerId !== "" && request.workerId !== id) {
          throw new ConnectError(
            `this is ${id}; it lists only its own tasks, not those of "${request.workerId}"`,
            Code.InvalidArgument,
          );
        }
        try {
          const query = taskQueryFrom({
            ...request,
            states: request.states.map((s) => TaskState[s] ?? String(s)),
          });
          const page = await ready().list(query);
          return create(ListTasksResponseSchema, {
            tasks: page.tasks.map(statusResponse),
            nextPageToken: page.next ? encodePageToken(page.next) : "",
          });
        } catch (err) {
          throw toConnectError(err, log, "ListTasks");
        }
      },
      listWorkers() {
        return create(ListWorkersResponseSchema, {
          workers: [
            create(WorkerInfoSchema, {
              workerId: id,
              name: worker.name,
              description: worker.description,
              capabilities: worker.capabilities,
              endpoint: runtime.endpoint(),
              version: versionOf(worker),
              healthyInstances: runtime.draining() ? 0 : 1,
            }),
          ],
        });
      },
    });
  };
}
