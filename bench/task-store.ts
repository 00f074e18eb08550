// `npm run bench:tasks`: the worker task stores side by side — the embedded file store and
// PostgreSQL (a throwaway cluster of Debian's PostgreSQL), with 1 and 3 worker processes.
// For each: how long an idle fleet takes to pick up a new job (create → job running, jobs
// created one every 100 ms), then jobs/s draining a backlog of 3-step jobs paced at 0. Both
// stores flush every write to disk (fsync).
// `npm run bench:tasks -- --quick` for a shorter run.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../platform/log";
import { eventually } from "../platform/test-support/eventually";
import { openWorkerTaskStore } from "../services/sdk/worker/open-task-store";
import type { StoredTask, TaskStore } from "../services/sdk/worker/task-store";
import {
  type PostgresCluster,
  startPostgresCluster,
} from "../services/sdk/worker/test-support/postgres-cluster";
import { type Child, startNodeChild } from "./child-process";

const say = (text: string) => process.stdout.write(`${text}\n`);
const entry = new URL("task-worker-process.ts", import.meta.url).pathname;
const logger = createLogger("bench-tasks", { level: "warn" });
const workerId = "benchjob-worker";

interface Setup {
  label: string;
  store: "file" | "postgres";
  workers: number;
}
interface Row extends Setup {
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
  pickupP50: number;
  pickupP95: number;
  pickupMax: number;
  /** Jobs run to the end more than once (must be 0). */
  duplicates: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? Number.NaN;

const job = (taskId: string): StoredTask => {
  const now = Date.now();
  return {
    taskId,
    worker: workerId,
    state: "PENDING",
    progress: 0,
    message: "queued",
    output: "",
    error: "",
    createdAtMs: now,
    updatedAtMs: now,
    request: { input: "3", parameters: {} },
    input: { steps: 3 },
    steps: [],
    attempt: 0,
    leaseVersion: 0,
    metadata: {},
  };
};

function readEvents(file: string) {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [id, start, end] = l.split(" ");
      return { id: id ?? "", start: Number(start), end: Number(end) };
    });
}

async function measure(
  setup: Setup,
  cluster: PostgresCluster,
  n: number,
  sizes: { backlog: number; pickups: number },
): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), "bench-tasks-"));
  const events = join(dir, "events");
  writeFileSync(events, "");
  const databaseUrl =
    setup.store === "postgres" ? await cluster.createDatabase(`bench_${n}`) : undefined;
  const env: Record<string, string> = {
    BENCH_DATA_DIR: dir,
    BENCH_EVENTS: events,
    ...(databaseUrl ? { BENCH_DATABASE_URL: databaseUrl } : {}),
  };
  const observer: TaskStore = await openWorkerTaskStore({
    databaseUrl,
    dataDir: dir,
    worker: workerId,
    logger,
  });
  const children: Child[] = [];
  try {
    for (let i = 1; i <= setup.workers; i++) {
      const { child } = await startNodeChild(`worker ${i}`, entry, {
        ...env,
        BENCH_INSTANCE: `bench-${i}`,
      });
      children.push(child);
    }
    // Pickup: one job at a time into an idle fleet.
    const created = new Map<string, number>();
    for (let i = 0; i < sizes.pickups; i++) {
      const t = job(`pickup-${i}`);
      created.set(t.taskId, t.createdAtMs);
      await observer.create(t);
      await new Promise((r) => setTimeout(r, 100));
    }
    await eventually(() => readEvents(events).length >= sizes.pickups, {
      what: "pickups",
      timeoutMs: 60_000,
      intervalMs: 20,
    });
    const pickups = readEvents(events)
      .map((e) => e.start - (created.get(e.id) ?? e.start))
      .sort((a, b) => a - b);

    // Throughput: a backlog, created as fast as the store takes it, drained by the fleet.
    const started = Date.now();
    for (let i = 0; i < sizes.backlog; i += 20) {
      await Promise.all(
        Array.from({ length: Math.min(20, sizes.backlog - i) }, (_, k) =>
          observer.create(job(`job-${i + k}`)),
        ),
      );
    }
    const total = sizes.pickups + sizes.backlog;
    await eventually(() => readEvents(events).length >= total, {
      what: "backlog",
      timeoutMs: 300_000,
      intervalMs: 20,
    });
    const all = readEvents(events);
    const finished = Math.max(...all.map((e) => e.end));
    const seconds = (finished - started) / 1000;
    const ids = all.map((e) => e.id);
    return {
      ...setup,
      jobs: sizes.backlog,
      seconds,
      jobsPerSecond: sizes.backlog / seconds,
      pickupP50: percentile(pickups, 0.5),
      pickupP95: percentile(pickups, 0.95),
      pickupMax: pickups.at(-1) ?? Number.NaN,
      duplicates: ids.length - new Set(ids).size,
    };
  } finally {
    await Promise.all(children.map((c) => c.stop()));
    await observer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const argv = process.argv.slice(2);
  for (const a of argv) if (a !== "--quick") throw new Error(`unknown option ${a}; use --quick`);
  const quick = argv.includes("--quick");
  const sizes = quick ? { backlog: 200, pickups: 20 } : { backlog: 600, pickups: 40 };
  const setups: Setup[] = [
    { label: "file store", store: "file", workers: 1 },
    { label: "file store", store: "file", workers: 3 },
    { label: "PostgreSQL", store: "postgres", workers: 1 },
    { label: "PostgreSQL", store: "postgres", workers: 3 },
  ];
  say(
    `task stores: backlog ${sizes.backlog} jobs × 3 steps paced at 0, ${sizes.pickups} pickups; ` +
      `${cpus().length} CPUs, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
  );
  // Durable like the file store, which fsyncs every write: a fair comparison.
  const cluster = await startPostgresCluster({ durable: true });
  const rows: Row[] = [];
  try {
    let n = 0;
    for (const setup of setups) {
      say(`measuring ${setup.label}, ${setup.workers} worker(s)…`);
      rows.push(await measure(setup, cluster, ++n, sizes));
    }
  } finally {
    await cluster.stop();
  }
  const base = rows[0]?.jobsPerSecond ?? Number.NaN;
  say("");
  say(
    "| store | workers | jobs | jobs/s | vs file ×1 | pickup p50 ms | pickup p95 ms | pickup max ms | run twice |",
  );
  say("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    say(
      `| ${r.label} | ${r.workers} | ${r.jobs} | ${r.jobsPerSecond.toFixed(0)} | ${(r.jobsPerSecond / base).toFixed(2)} | ${r.pickupP50} | ${r.pickupP95} | ${r.pickupMax} | ${r.duplicates} |`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
