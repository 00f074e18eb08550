import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState } from "../../gen/agentplatform/v1/platform_pb";
import { eventually } from "../../platform/test-support/eventually";
import type { Router } from "../../router/router";
import { startTestRouter } from "../../router/test-support/cluster";
import { type RunningService, startService, type ToolDefinition } from "../sdk";
import { clientsFor, quietLogger, startTestRegistry } from "../sdk/test-support/test-services";
import { loadClimateDataset } from "../weather/climate-dataset";
import { createClimatologyProvider } from "../weather/climatology-provider";
import { createWeatherTool } from "../weather/weather-tool";

const root = new URL("../..", import.meta.url).pathname;
let dir: string;
let stopRegistry: () => Promise<void>;
let consulAddress: string;
let router: Router;
let weather: RunningService;
const children = new Set<ChildProcess>();
/** start_date of every forecast the worker asked the weather tool for. */
const forecasts: string[] = [];

/** The worker as its own process, as `npm start` runs it. */
function spawnWorker(): ChildProcess {
  // node itself (not the tsx wrapper, which runs node as a child): SIGKILL must reach the worker.
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(root, "services/itinerary/main.ts")],
    {
      cwd: root,
      env: {
        ...process.env,
        CONSUL_HTTP_ADDR: consulAddress,
        GRPC_SERVER_PORT: "0",
        METRICS_PORT: "-1",
        // The same instance id across restarts: the new process resumes the old one's runs at once.
        SERVICE_INSTANCE_ID: "worker-itinerary-restart",
        WORKER_DATA_DIR: dir,
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itinerary-restart-"));
  const { registry, consul } = await startTestRegistry();
  stopRegistry = () => registry.close();
  consulAddress = registry.address;
  router = await startTestRouter(consul);
  const tool = createWeatherTool(createClimatologyProvider(loadClimateDataset()));
  const counting: ToolDefinition = {
    ...tool,
    executeTool(call, ctx) {
      if (call.operation === "forecast") forecasts.push(call.parameters.start_date ?? "");
      return tool.executeTool(call, ctx);
    },
  };
  weather = await startService(counting, {
    consulAddress,
    logger: quietLogger,
    drainDelayMs: 0,
    metricsPort: -1,
  });
});
afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await weather.stop(100);
  await router.close(100);
  await stopRegistry();
  rmSync(dir, { recursive: true, force: true });
});

describe("itinerary worker killed mid-task", () => {
  it("resumes the task after a restart, without redoing finished steps", async () => {
    const via = clientsFor(router.address).workers;
    const status = (taskId: string) => via.getTaskStatus({ taskId, workerId: "itinerary-worker" });
    let worker = spawnWorker();
    const accepted = await eventually(
      () =>
        via.processTask(
          {
            agentId: "itinerary-worker",
            taskId: "trip-kill",
            input: "Rome",
            parameters: { days: "8", start_date: "2025-09-01", pace_ms: "300" },
          },
          { timeoutMs: 2000 },
        ),
      { what: "worker reachable through the router", timeoutMs: 20_000, intervalMs: 200 },
    );
    const taskId = accepted.taskId;
    const beforeKill = await eventually(
      async () => {
        const s = await status(taskId);
        return s.progress >= 30 ? s : false;
      },
      { what: "a few steps done", timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(beforeKill.state).toBe(TaskState.RUNNING);

    worker.kill("SIGKILL");
    await new Promise((r) => worker.once("exit", r));
    // The record is on disk, whatever happened to the process.
    expect(readdirSync(join(dir, "tasks"))).toContain(`${taskId}.json`);

    worker = spawnWorker();
    const done = await eventually(
      async () => {
        const s = await status(taskId);
        return s.state === TaskState.SUCCEEDED || s.state === TaskState.FAILED ? s : false;
      },
      { what: "the resumed task to finish", timeoutMs: 25_000, intervalMs: 200 },
    );
    expect({ state: done.state, error: done.error }).toEqual({
      state: TaskState.SUCCEEDED,
      error: "",
    });
    expect(done.metadata.attempt).toBe("2");
    expect((JSON.parse(done.output) as { days: unknown[] }).days).toHaveLength(8);
    // Each day's weather was fetched once, except perhaps the one step the kill interrupted.
    const perDate = new Map<string, number>();
    for (const d of forecasts) perDate.set(d, (perDate.get(d) ?? 0) + 1);
    expect(perDate.size).toBe(8);
    expect(forecasts.length).toBeLessThanOrEqual(9);
    worker.kill("SIGTERM");
    await new Promise((r) => worker.once("exit", r));
  }, 60_000);
});
