import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../../gen/agentplatform/v1/platform_pb";
import type { Router } from "../../../router/router";
import { startTestRouter } from "../../../router/test-support/cluster";
import { defineWorker } from "../definitions";
import { type RunningService, startService } from "../start-service";
import { clientsFor, codeOf, eventually, quietLogger, startTestRegistry } from "../test-support";
import { openFileTaskStore } from "./file-task-store";
import type { StoredState, StoredTask } from "./task-store";

// A worker that never runs anything itself: the listed tasks are written straight to its store.
const idle = defineWorker<{ n: number }>({
  name: "lister",
  description: "lists",
  capabilities: [],
  accept: () => ({ n: 0 }),
  run: async () => "",
});

let dir: string;
let stopRegistry: () => Promise<void>;
let router: Router;
let worker: RunningService;
const states: StoredState[] = ["SUCCEEDED", "FAILED", "CANCELLED"];
// Recent enough that retention keeps them.
const base = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

const record = (i: number): StoredTask => ({
  taskId: `job-${String(i).padStart(3, "0")}`,
  worker: "lister-worker",
  state: states[i % 3] ?? "SUCCEEDED",
  progress: 100,
  message: "done",
  output: "",
  error: "",
  // Pairs share a creation time, so the tie-break by id is exercised too.
  createdAtMs: base + Math.floor(i / 2) * 1000,
  updatedAtMs: base + Math.floor(i / 2) * 1000,
  request: { input: "", parameters: {} },
  input: { n: 0 },
  steps: [],
  attempt: 1,
  leaseVersion: 1,
  metadata: {},
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "list-tasks-"));
  const store = await openFileTaskStore(dir);
  for (let i = 0; i < 25; i++) await store.create(record(i));
  const { registry, consul } = await startTestRegistry();
  stopRegistry = () => registry.close();
  router = await startTestRouter(consul);
  worker = await startService(idle, {
    consulAddress: registry.address,
    dataDir: dir,
    logger: quietLogger,
    drainDelayMs: 0,
    metricsPort: -1,
  });
});
afterAll(async () => {
  await worker.stop(100);
  await router.close(100);
  await stopRegistry();
  rmSync(dir, { recursive: true, force: true });
});

describe("TaskWorker.ListTasks", () => {
  it("pages through every task newest first, through the router, without repeats", async () => {
    const via = clientsFor(router.address).workers;
    const first = await eventually("worker routable", () =>
      via.listTasks({ workerId: "lister-worker", pageSize: 10 }, { timeoutMs: 2000 }),
    );
    const ids = first.tasks.map((t) => t.taskId);
    let token = first.nextPageToken;
    let pages = 1;
    while (token !== "") {
      const page = await via.listTasks({
        workerId: "lister-worker",
        pageSize: 10,
        pageToken: token,
      });
      ids.push(...page.tasks.map((t) => t.taskId));
      token = page.nextPageToken;
      pages++;
    }
    expect(pages).toBe(3);
    const expected = Array.from({ length: 25 }, (_, i) => record(24 - i).taskId);
    expect(ids).toEqual(expected);
    expect(first.tasks[0]).toMatchObject({
      workerId: "lister-worker",
      state: TaskState.SUCCEEDED,
      createdAtMs: BigInt(base + 12_000),
    });
  });

  it("filters by state and creation time", async () => {
    const direct = clientsFor(worker.address).workers;
    const failed = await direct.listTasks({ states: [TaskState.FAILED] });
    expect(failed.tasks.map((t) => t.taskId)).toEqual(
      Array.from({ length: 25 }, (_, i) => 24 - i)
        .filter((i) => i % 3 === 1)
        .map((i) => record(i).taskId),
    );
    expect(failed.nextPageToken).toBe("");
    // [base+2s, base+4s): tasks 4..7.
    const window = await direct.listTasks({
      createdAfterMs: BigInt(base + 2000),
      createdBeforeMs: BigInt(base + 4000),
      states: [TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED],
    });
    expect(window.tasks.map((t) => t.taskId)).toEqual(["job-007", "job-006", "job-005", "job-004"]);
    const none = await direct.listTasks({ states: [TaskState.RUNNING] });
    expect(none.tasks).toEqual([]);
  });

  it("refuses a forged page token, an unknown state and another worker's id", async () => {
    const direct = clientsFor(worker.address).workers;
    expect(await codeOf(direct.listTasks({ pageToken: "not-a-token" }))).toBe(Code.InvalidArgument);
    expect(await codeOf(direct.listTasks({ pageToken: "x".repeat(5000) }))).toBe(
      Code.InvalidArgument,
    );
    expect(await codeOf(direct.listTasks({ states: [TaskState.UNSPECIFIED] }))).toBe(
      Code.InvalidArgument,
    );
    expect(await codeOf(direct.listTasks({ workerId: "other-worker" }))).toBe(Code.InvalidArgument);
    // An oversized page is capped, not refused.
    const all = await direct.listTasks({ pageSize: 100_000 });
    expect(all.tasks).toHaveLength(25);
  });
});
