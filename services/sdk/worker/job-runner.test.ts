import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createRouterTransport as createInMemoryTransport } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TaskRequestSchema } from "../../../gen/agentplatform/v1/platform_pb";
import { defineWorker } from "../definitions";
import { createPlatformClient } from "../platform-client";
import { sleep } from "../service-context";
import { eventually, quietLogger } from "../test-support";
import { openFileTaskStore } from "./file-task-store";
import { createJobRunner, type JobRunner } from "./job-runner";
import { openPostgresTaskStore } from "./postgres-task-store";
import type { StoredTask, TaskStore } from "./task-store";
import { type PostgresCluster, startPostgresCluster } from "./test-support/postgres-cluster";

let cluster: PostgresCluster;
let databases = 0;
const dirs: string[] = [];
let store: TaskStore;
const runners: JobRunner[] = [];
const ran: string[] = [];

// Three steps of 100 ms; records each step it actually runs.
const counter = defineWorker<{ n: number }>({
  name: "counter",
  description: "counts",
  capabilities: [],
  accept: (req) => ({ n: Number(req.input || "3") }),
  async run(input, ctx) {
    await ctx.plan(Array.from({ length: input.n }, (_, i) => `step ${i + 1}`));
    for (let i = 1; i <= input.n; i++) {
      await ctx.step(`step ${i}`, async () => {
        ran.push(`${ctx.taskId}:${i}`);
        await sleep(100, ctx.signal);
        return i;
      });
    }
    return `counted to ${input.n}`;
  },
});

const platform = createPlatformClient(createInMemoryTransport(() => {}));
const runner = (instanceId: string, leaseMs = 600) => {
  const r = createJobRunner({
    worker: counter,
    store,
    instanceId,
    logger: quietLogger,
    platform: () => platform,
    leaseMs,
    scanIntervalMs: 100,
    cancelPollMs: 50,
  });
  runners.push(r);
  return r;
};
const request = (taskId: string, input = "3") => create(TaskRequestSchema, { taskId, input });

beforeAll(async () => {
  cluster = await startPostgresCluster();
}, 60_000);
afterAll(async () => {
  await cluster.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
beforeEach(() => {
  ran.length = 0;
});
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop(0)));
  await store.close();
});

const stores = [
  {
    kind: "file",
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), "jobs-"));
      dirs.push(dir);
      return openFileTaskStore(dir);
    },
  },
  {
    kind: "postgres",
    open: async () =>
      openPostgresTaskStore({
        connectionString: await cluster.createDatabase(`jobs_${++databases}`),
        worker: "counter-worker",
        logger: quietLogger,
      }),
  },
];

const finished = (r: JobRunner, id: string) =>
  eventually(`task ${id} finished`, async () => {
    const t = await r.status(id);
    return t.state === "SUCCEEDED" || t.state === "FAILED" || t.state === "CANCELLED"
      ? t
      : undefined;
  });

describe.each(stores)("job runner on the $kind store", ({ open }) => {
  beforeEach(async () => {
    store = await open();
  });

  it("runs a job through its steps and records the result", async () => {
    const r = runner("a");
    await r.start();
    const accepted = await r.submit(request("t1"));
    expect(["PENDING", "RUNNING"]).toContain(accepted.state);
    const done = await finished(r, "t1");
    expect(done).toMatchObject({
      state: "SUCCEEDED",
      output: "counted to 3",
      progress: 100,
      attempt: 1,
    });
    expect(done.steps.map((s) => s.state)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
  });

  it("lets another instance take over once the owner's lease expires, skipping finished steps", async () => {
    // A run that died after step 1, owned by an instance that will never renew its lease.
    const now = Date.now();
    const orphan: StoredTask = {
      taskId: "t2",
      worker: "counter-worker",
      state: "RUNNING",
      progress: 33,
      message: "running: step 2",
      output: "",
      error: "",
      createdAtMs: now,
      updatedAtMs: now,
      request: { input: "3", parameters: {} },
      input: { n: 3 },
      steps: [
        { name: "step 1", state: "SUCCEEDED", detail: "", result: 1 },
        { name: "step 2", state: "RUNNING", detail: "" },
        { name: "step 3", state: "PENDING", detail: "" },
      ],
      attempt: 1,
      leaseVersion: 1,
      owner: { instance: "dead", boot: "x", leaseUntilMs: now + 400 },
      metadata: {},
    };
    await store.create(orphan);
    const r = runner("b");
    await r.start();
    // Not before the lease runs out.
    expect((await r.status("t2")).owner?.instance).toBe("dead");
    const done = await finished(r, "t2");
    expect(done).toMatchObject({ state: "SUCCEEDED", attempt: 2 });
    expect(ran).toEqual(["t2:2", "t2:3"]);
  });

  it("marks a task FAILED with the reason once it has been interrupted too often", async () => {
    const now = Date.now();
    await store.create({
      taskId: "t3",
      worker: "counter-worker",
      state: "RUNNING",
      progress: 0,
      message: "",
      output: "",
      error: "",
      createdAtMs: now,
      updatedAtMs: now,
      request: { input: "3", parameters: {} },
      input: { n: 3 },
      steps: [],
      attempt: 3,
      leaseVersion: 3,
      owner: { instance: "dead", boot: "x", leaseUntilMs: now - 1 },
      metadata: {},
    });
    const r = runner("c");
    await r.start();
    const done = await finished(r, "t3");
    expect(done.state).toBe("FAILED");
    expect(done.error).toMatch(/interrupted 3 times/);
    expect(ran).toEqual([]);
  });

  it("cancels a job running on another instance through the shared store", async () => {
    const a = runner("a", 5000);
    const b = runner("b", 5000);
    await Promise.all([a.start(), b.start()]);
    await a.submit(request("t4", "30"));
    await eventually("running on a", async () =>
      (await a.status("t4")).state === "RUNNING" ? true : undefined,
    );
    const answer = await b.cancel("t4", "no longer needed");
    expect(answer.state).toBe("CANCELLED");
    expect(answer.message).toContain("no longer needed");
    expect(ran.length).toBeLessThan(30);
  });
});
