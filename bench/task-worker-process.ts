// One worker instance for `npm run bench:tasks`: a job runner on the file store (BENCH_DATA_DIR)
// or on PostgreSQL (BENCH_DATABASE_URL), running jobs of BENCH-chosen steps paced at 0. Appends
// "<task id> <start ms> <end ms>" to BENCH_EVENTS for every job it runs to the end.
import { appendFileSync } from "node:fs";
import { createRouterTransport } from "@connectrpc/connect";
import { EnvReader } from "../platform/config";
import { createLogger } from "../platform/log";
import { defineWorker } from "../services/sdk/definitions";
import { createPlatformClient } from "../services/sdk/platform-client";
import { createJobRunner } from "../services/sdk/worker/job-runner";
import { openWorkerTaskStore } from "../services/sdk/worker/open-task-store";
import { announceReady } from "./child-process";

const env = new EnvReader();
const databaseUrl = env.optionalString("BENCH_DATABASE_URL");
const dataDir = env.string("BENCH_DATA_DIR", "");
const events = env.string("BENCH_EVENTS", "/dev/null");
const instance = env.string("BENCH_INSTANCE", "bench-1");
env.done("bench task worker");

const logger = createLogger("bench-task-worker", { level: "warn" });
const worker = defineWorker<{ steps: number }>({
  name: "benchjob",
  description: "steps that do nothing",
  capabilities: [],
  accept: (req) => ({ steps: Number(req.input || "3") }),
  async run(input, ctx) {
    const started = Date.now();
    const names = Array.from({ length: input.steps }, (_, i) => `s${i + 1}`);
    await ctx.plan(names);
    for (const name of names) await ctx.step(name, async () => name);
    appendFileSync(events, `${ctx.taskId} ${started} ${Date.now()}\n`);
    return "ok";
  },
});

const store = await openWorkerTaskStore({
  databaseUrl,
  dataDir,
  worker: "benchjob-worker",
  logger,
});
const runner = createJobRunner({
  worker,
  store,
  instanceId: instance,
  logger,
  platform: () => createPlatformClient(createRouterTransport(() => {})),
});
await runner.start();
// The runner's timers do not hold the process open (a service's server does): this does.
const alive = setInterval(() => {}, 60_000);
announceReady({ instance });
process.once("SIGTERM", () => {
  void runner
    .stop(0)
    .then(() => store.close())
    .then(() => {
      clearInterval(alive);
      process.exit(0);
    });
});
