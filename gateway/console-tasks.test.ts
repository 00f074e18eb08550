// The Tasks page's server side against TaskWorker handlers served by connect's in-memory
// transport: merging workers newest first, continuing only the workers that have more, and
// reporting a worker that fails without failing the page.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ListConsoleTasksRequestSchema } from "../gen/agentplatform/v1/console_pb";
import { TaskState, TaskWorker } from "../gen/agentplatform/v1/platform_pb";
import { createConsoleTasks } from "./console-tasks";

const jobs: Record<string, number[]> = {
  "w-one": [100, 300, 500],
  "w-two": [200, 400],
};

const transport = createRouterTransport((router) => {
  router.service(TaskWorker, {
    listTasks(req) {
      if (req.workerId === "w-down") {
        throw new ConnectError("no healthy instance", Code.Unavailable);
      }
      const created = [...(jobs[req.workerId] ?? [])].sort((a, b) => b - a);
      const start = Number(req.pageToken || "0");
      const page = created.slice(start, start + req.pageSize);
      return {
        tasks: page.map((at) => ({
          taskId: `${req.workerId}-${at}`,
          state: TaskState.SUCCEEDED,
          createdAtMs: BigInt(at),
        })),
        nextPageToken: start + req.pageSize < created.length ? String(start + req.pageSize) : "",
      };
    },
    getTaskStatus(req) {
      return { taskId: req.taskId, workerId: req.workerId, state: TaskState.RUNNING };
    },
  });
});

const request = (init: MessageInitShape<typeof ListConsoleTasksRequestSchema>) =>
  create(ListConsoleTasksRequestSchema, init);

describe("console tasks", () => {
  it("merges every worker newest first, pages on, and names each job's worker", async () => {
    const tasks = createConsoleTasks({ transport, workers: () => ["w-one", "w-two"] });
    const signal = new AbortController().signal;
    const first = await tasks.list(request({ pageSize: 2 }), signal);
    expect(first.tasks?.map((t) => t.taskId)).toEqual([
      "w-one-500",
      "w-two-400",
      "w-one-300",
      "w-two-200",
    ]);
    expect(first.tasks?.every((t) => t.workerId !== "")).toBe(true);
    const second = await tasks.list(
      request({ pageSize: 2, pageToken: first.nextPageToken ?? "" }),
      signal,
    );
    expect(second.tasks?.map((t) => t.taskId)).toEqual(["w-one-100"]);
    expect(second.nextPageToken).toBe("");
  });

  it("lists the other workers when one cannot answer, and says which", async () => {
    const tasks = createConsoleTasks({ transport, workers: () => ["w-two", "w-down"] });
    const page = await tasks.list(request({}), new AbortController().signal);
    expect(page.tasks?.map((t) => t.taskId)).toEqual(["w-two-400", "w-two-200"]);
    expect(page.errors).toEqual([
      { workerId: "w-down", code: "UNAVAILABLE", message: "no healthy instance" },
    ]);
  });

  it("refuses a page token it did not give out", async () => {
    const tasks = createConsoleTasks({ transport, workers: () => ["w-one"] });
    const error = await tasks
      .list(request({ pageToken: "not base64 json" }), new AbortController().signal)
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(error?.code).toBe(Code.InvalidArgument);
  });
});
