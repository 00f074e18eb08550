// A worker process for fleet tests: each job runs `steps` steps of `step_ms` milliseconds and
// appends "<task id> <step> <instance> <attempt>" to the file STEP_LOG as each step runs, so a
// test can count how often every step of every job ran, across processes and restarts.
import { appendFileSync } from "node:fs";
import { EnvReader } from "../../../../platform/config";
import { defineWorker } from "../../definitions";
import { runService } from "../../run-service";
import { sleep } from "../../service-context";

const env = new EnvReader();
const stepLog = env.string("STEP_LOG", "/dev/null");
const instance = env.string("SERVICE_INSTANCE_ID", "unnamed");
env.done("step-log-worker");

export const stepLogWorker = defineWorker<{ steps: number; stepMs: number }>({
  name: "steplog",
  description: "Runs numbered steps and logs each one it runs.",
  capabilities: [],
  maxAttempts: 5,
  accept: (req) => ({
    steps: Number(req.parameters.steps ?? "3"),
    stepMs: Number(req.parameters.step_ms ?? "20"),
  }),
  async run(input, ctx) {
    const names = Array.from({ length: input.steps }, (_, i) => `s${i + 1}`);
    await ctx.plan(names);
    for (const name of names) {
      await ctx.step(name, async () => {
        appendFileSync(stepLog, `${ctx.taskId} ${name} ${instance} ${ctx.attempt}\n`);
        await sleep(input.stepMs, ctx.signal);
        return name;
      });
    }
    return `${input.steps} steps`;
  },
});

runService(stepLogWorker);
