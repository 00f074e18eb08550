// Worker processes sharing one PostgreSQL task store, under the faults a fleet meets: many jobs
// at once, a worker killed mid-job, a worker paused past its lease, the database restarted.
// Figures (how jobs spread, how long a takeover took) are printed for the record.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../../../platform/test-support/eventually";
import { clientsFor, codeOf, quietLogger } from "../test-support/test-services";
import { openPostgresTaskStore } from "./postgres-task-store";
import type { StoredTask, TaskStore } from "./task-store";
import {
  freePort,
  type PostgresCluster,
  startPostgresCluster,
} from "./test-support/postgres-cluster";

const root = new URL("../../..", import.meta.url).pathname;
const workerMain = join(root, "services/sdk/worker/test-support/step-log-worker.ts");
const workerId = "steplog-worker";
let cluster: PostgresCluster;
let dir: string;
let databases = 0;
const children = new Set<ChildProcess>();
const stores: TaskStore[] = [];

interface Worker {
  child: ChildProcess;
  port: number;
  instance: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

beforeAll(async () => {
  cluster = await startPostgresCluster();
  dir = mkdtempSync(join(tmpdir(), "fleet-"));
}, 60_000);
afterEach(async () => {
  for (const child of children) {
    child.kill("SIGCONT");
    child.kill("SIGKILL");
  }
  children.clear();
  await Promise.all(stores.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function spawnWorker(
  instance: string,
  env: Record<string, string>,
  { ready = true } = {},
): Promise<Worker> {
  const port = await freePort();
  // node itself (not the tsx wrapper): signals must reach the worker.
  const child = spawn(process.execPath, ["--import", "tsx", workerMain], {
    cwd: root,
    env: {
      ...process.env,
      GRPC_SERVER_PORT: String(port),
      SERVICE_REGISTER: "false",
      METRICS_PORT: "-1",
      SERVICE_INSTANCE_ID: instance,
      LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.add(child);
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  const worker = { child, port, instance, stderr: () => stderr, exited };
  if (ready) {
    await eventually(
      () => clientsFor(`127.0.0.1:${port}`).workers.listWorkers({}, { timeoutMs: 1000 }),
      { what: `${instance} serving`, timeoutMs: 30_000, intervalMs: 100 },
    );
  }
  return worker;
}

/** A fresh database, a step log and an observer's handle on the store. */
async function fleet(name: string) {
  const url = await cluster.createDatabase(`fleet_${++databases}`);
  const stepLog = join(dir, `${name}.log`);
  writeFileSync(stepLog, "");
  const store = await openPostgresTaskStore({
    connectionString: url,
    worker: workerId,
    logger: quietLogger,
  });
  stores.push(store);
  const steps = () =>
    readFileSync(stepLog, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => {
        const [task, step, instance, attempt] = l.split(" ");
        return { task, step, instance, attempt: Number(attempt) };
      });
  const all = async () => {
    const tasks: StoredTask[] = [];
    let after: StoredTask | undefined;
    for (;;) {
      const page = await store.listTasks({
        pageSize: 500,
        states: [],
        ...(after ? { after: { createdAtMs: after.createdAtMs, taskId: after.taskId } } : {}),
      });
      tasks.push(...page.tasks);
      if (!page.next) return tasks;
      after = page.tasks.at(-1);
    }
  };
  return { url, stepLog, store, steps, all };
}

const submit = (w: Worker, taskId: string, parameters: Record<string, string>) =>
  clientsFor(`127.0.0.1:${w.port}`).workers.processTask({ taskId, parameters });

/** How many times each "<task> <step>" ran. */
const runCounts = (steps: { task?: string; step?: string }[]) => {
  const counts = new Map<string, number>();
  for (const s of steps)
    counts.set(`${s.task} ${s.step}`, (counts.get(`${s.task} ${s.step}`) ?? 0) + 1);
  return counts;
};

describe("worker processes on one PostgreSQL task store", () => {
  it("runs 200 jobs on 3 workers, each exactly once", async () => {
    const f = await fleet("spread");
    const env = { DATABASE_URL: f.url, STEP_LOG: f.stepLog, WORKER_LEASE_MS: "3000" };
    const workers = await Promise.all(["w1", "w2", "w3"].map((i) => spawnWorker(i, env)));
    const started = Date.now();
    for (let batch = 0; batch < 200; batch += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => {
          const n = batch + i;
          const w = workers[n % 3];
          if (!w) throw new Error("no worker");
          return submit(w, `job-${n}`, { steps: "3", step_ms: "10" });
        }),
      );
    }
    const done = await eventually(
      async () => {
        const tasks = await f.all();
        return tasks.filter((t) => t.state === "SUCCEEDED").length === 200 ? tasks : false;
      },
      { what: "200 jobs finished", timeoutMs: 120_000, intervalMs: 250 },
    );
    const seconds = (Date.now() - started) / 1000;
    expect(done.every((t) => t.attempt === 1)).toBe(true);
    const counts = runCounts(f.steps());
    expect(counts.size).toBe(600);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    const perInstance = new Map<string, number>();
    for (const s of f.steps()) {
      if (s.step === "s1")
        perInstance.set(s.instance ?? "", (perInstance.get(s.instance ?? "") ?? 0) + 1);
    }
    console.info(
      `200 jobs on 3 workers: ${seconds.toFixed(1)} s; jobs per worker ${JSON.stringify(Object.fromEntries(perInstance))}; every step ran once`,
    );
  }, 180_000);

  it("finishes a job whose worker was SIGKILLed mid-job on another worker, within the lease", async () => {
    const f = await fleet("kill");
    const leaseMs = 2000;
    const env = { DATABASE_URL: f.url, STEP_LOG: f.stepLog, WORKER_LEASE_MS: String(leaseMs) };
    const a = await spawnWorker("a", env);
    await submit(a, "killed", { steps: "12", step_ms: "600" });
    // Started after a owns the job, so a notification cannot hand the job to b first.
    await spawnWorker("b", env);
    await eventually(
      async () => {
        const t = await f.store.read("killed");
        return t && t.owner?.instance === "a" && t.progress >= 25 ? t : false;
      },
      { what: "a few steps done on a" },
    );
    a.child.kill("SIGKILL");
    await a.exited;
    const killedAt = Date.now();
    const taken = await eventually(
      async () => {
        const t = await f.store.read("killed");
        return t?.owner?.instance === "b" ? Date.now() - killedAt : false;
      },
      { what: "b takes over", timeoutMs: 20_000, intervalMs: 25 },
    );
    const done = await eventually(
      async () => {
        const t = await f.store.read("killed");
        return t?.state === "SUCCEEDED" ? t : false;
      },
      { what: "finished", timeoutMs: 20_000 },
    );
    expect(done.attempt).toBe(2);
    const counts = runCounts(f.steps());
    expect(counts.size).toBe(12);
    // Only the step the kill interrupted may have run twice.
    expect([...counts.values()].filter((c) => c > 1).length).toBeLessThanOrEqual(1);
    console.info(`SIGKILL mid-job: taken over after ${taken} ms (lease ${leaseMs} ms)`);
  }, 60_000);

  it("refuses the writes of an owner paused past its lease when it wakes", async () => {
    const f = await fleet("pause");
    const leaseMs = 1500;
    const env = { DATABASE_URL: f.url, STEP_LOG: f.stepLog, WORKER_LEASE_MS: String(leaseMs) };
    const a = await spawnWorker("a", env);
    await submit(a, "paused", { steps: "12", step_ms: "500" });
    await spawnWorker("b", env);
    await eventually(
      async () => {
        const t = await f.store.read("paused");
        return t?.owner?.instance === "a" && t.progress > 0 ? t : false;
      },
      { what: "running on a" },
    );
    a.child.kill("SIGSTOP");
    const done = await eventually(
      async () => {
        const t = await f.store.read("paused");
        return t?.state === "SUCCEEDED" ? t : false;
      },
      { what: "b finished it", timeoutMs: 30_000 },
    );
    expect(done.steps.every((s) => s.state === "SUCCEEDED")).toBe(true);
    a.child.kill("SIGCONT");
    // a wakes with a step in hand and writes; every write carries its old lease version.
    await eventually(() => /took this task over/.test(a.stderr()), {
      what: "a noticed",
      timeoutMs: 15_000,
    });
    const after = await f.store.read("paused");
    expect(after).toMatchObject({
      state: "SUCCEEDED",
      attempt: 2,
      output: done.output,
      updatedAtMs: done.updatedAtMs,
    });
    console.info(
      `SIGSTOP past the lease: b finished (attempt ${done.attempt}); a's writes refused`,
    );
  }, 60_000);

  it("keeps every job when PostgreSQL restarts under load: none lost, none run twice", async () => {
    const f = await fleet("restart");
    const env = { DATABASE_URL: f.url, STEP_LOG: f.stepLog, WORKER_LEASE_MS: "5000" };
    const workers = await Promise.all(["r1", "r2", "r3"].map((i) => spawnWorker(i, env)));
    for (let n = 0; n < 60; n++) {
      const w = workers[n % 3];
      if (!w) throw new Error("no worker");
      await submit(w, `job-${n}`, { steps: "4", step_ms: "100" });
    }
    await eventually(
      async () => {
        const finished = (await f.all()).filter((t) => t.state === "SUCCEEDED").length;
        return finished >= 5 ? finished : false;
      },
      { what: "some jobs done" },
    );
    const haltedAt = Date.now();
    await cluster.halt();
    // Callers are told to retry, not that the job is gone.
    const w0 = workers[0];
    if (!w0) throw new Error("no worker");
    const status = clientsFor(`127.0.0.1:${w0.port}`).workers.getTaskStatus({ taskId: "job-0" });
    expect(await codeOf(status)).toBe(Code.Unavailable);
    await new Promise((r) => setTimeout(r, 1000));
    await cluster.resume();
    const downMs = Date.now() - haltedAt;
    const done = await eventually(
      async () => {
        const tasks = await f.all();
        return tasks.filter((t) => t.state === "SUCCEEDED").length === 60 ? tasks : false;
      },
      { what: "60 jobs finished", timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(done).toHaveLength(60);
    const counts = runCounts(f.steps());
    expect(counts.size).toBe(240);
    const twice = [...counts.entries()].filter(([, c]) => c > 1).map(([k]) => k);
    const detail = f.steps().filter((s) => twice.includes(`${s.task} ${s.step}`));
    expect(detail).toEqual([]);
    // A new job is accepted again once the database is back.
    const w = workers[0];
    if (!w) throw new Error("no worker");
    await submit(w, "after-restart", { steps: "1", step_ms: "0" });
    await eventually(async () => (await f.store.read("after-restart"))?.state === "SUCCEEDED", {
      what: "new job done",
    });
    console.info(`PostgreSQL down ${downMs} ms under load: 60/60 jobs done, no step ran twice`);
  }, 150_000);

  it("refuses to start on a bad DATABASE_URL, naming it, with nothing listening", async () => {
    const closedPort = await freePort();
    const cases = [
      { url: "mysql://u:secret@127.0.0.1/db", says: /DATABASE_URL must start with postgres:\/\// },
      { url: "not a url", says: /DATABASE_URL must be a URL/ },
      {
        url: `postgres://u:secret@127.0.0.1:${closedPort}/tasks`,
        says: /DATABASE_URL: cannot use the task database at 127\.0\.0\.1:\d+\/tasks/,
      },
    ];
    for (const c of cases) {
      const w = await spawnWorker("bad", { DATABASE_URL: c.url }, { ready: false });
      expect(await w.exited).toBe(1);
      expect(w.stderr()).toMatch(c.says);
      expect(w.stderr()).not.toContain("secret");
      const refused = await new Promise<boolean>((resolve) => {
        const s = connect(w.port, "127.0.0.1");
        s.once("connect", () => {
          s.destroy();
          resolve(false);
        });
        s.once("error", () => resolve(true));
      });
      expect(refused).toBe(true);
    }
  }, 60_000);
});
