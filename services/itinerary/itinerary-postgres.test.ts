// As an operator runs it: two itinerary worker processes on one PostgreSQL database behind a
// router. They share the jobs; the one running a trip is killed mid-job and the other finishes
// it, fetching each day's weather once (but for the step the kill interrupted); ListTasks
// through the router lists the jobs from the database.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState, type TaskStatusResponse } from "../../gen/agentplatform/v1/platform_pb";
import { eventually } from "../../platform/test-support/eventually";
import type { Router } from "../../router/router";
import { startTestRouter } from "../../router/test-support/cluster";
import { type RunningService, startService, type ToolDefinition } from "../sdk";
import { clientsFor, quietLogger, startTestRegistry } from "../sdk/test-support/test-services";
import { openPostgresTaskStore } from "../sdk/worker/postgres-task-store";
import {
  type PostgresCluster,
  startPostgresCluster,
} from "../sdk/worker/test-support/postgres-cluster";
import { loadClimateDataset } from "../weather/climate-dataset";
import { createClimatologyProvider } from "../weather/climatology-provider";
import { createWeatherTool } from "../weather/weather-tool";

const root = new URL("../..", import.meta.url).pathname;
let cluster: PostgresCluster;
let databaseUrl: string;
let stopRegistry: () => Promise<void>;
let consulAddress: string;
let router: Router;
let weather: RunningService;
const children = new Map<string, ChildProcess>();
const forecasts: string[] = [];

function spawnWorker(instance: string): ChildProcess {
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
        SERVICE_INSTANCE_ID: instance,
        DATABASE_URL: databaseUrl,
        WORKER_LEASE_MS: "2000",
        LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  children.set(instance, child);
  child.once("exit", () => children.delete(instance));
  return child;
}

beforeAll(async () => {
  cluster = await startPostgresCluster();
  databaseUrl = await cluster.createDatabase("itinerary");
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
}, 60_000);
afterAll(async () => {
  for (const child of children.values()) child.kill("SIGKILL");
  await weather.stop(100);
  await router.close(100);
  await stopRegistry();
  await cluster.stop();
});

describe("two itinerary workers on PostgreSQL", () => {
  it("finish a trip exactly once after the worker running it is killed, and list it", async () => {
    const via = clientsFor(router.address).workers;
    spawnWorker("itinerary-pg-a");
    spawnWorker("itinerary-pg-b");
    const status = (taskId: string) => via.getTaskStatus({ taskId, workerId: "itinerary-worker" });
    const accepted = await eventually(
      () =>
        via.processTask(
          {
            agentId: "itinerary-worker",
            taskId: "trip-pg",
            input: "Lisbon",
            parameters: { days: "8", start_date: "2025-10-01", pace_ms: "400" },
          },
          { timeoutMs: 2000 },
        ),
      { what: "workers reachable through the router", timeoutMs: 30_000, intervalMs: 200 },
    );
    const running = await eventually(
      async () => {
        const s = await status(accepted.taskId);
        return s.state === TaskState.RUNNING && s.progress >= 25 ? s : false;
      },
      { what: "a few days planned", timeoutMs: 20_000, intervalMs: 100 },
    );
    // Kill whichever instance owns it: the store knows, the status does not say.
    const store = await openPostgresTaskStore({
      connectionString: databaseUrl,
      worker: "itinerary-worker",
      logger: quietLogger,
    });
    const owner = await eventually(
      async () => {
        const t = await store.read("trip-pg");
        return t?.owner?.instance ?? false;
      },
      { what: "owner known" },
    ).finally(() => store.close());
    const victim = children.get(owner);
    if (!victim) throw new Error(`no process ${owner}`);
    victim.kill("SIGKILL");
    expect(running.workerId).toBe("itinerary-worker");

    const done: TaskStatusResponse = await eventually(
      async () => {
        const s = await status(accepted.taskId);
        return s.state === TaskState.SUCCEEDED || s.state === TaskState.FAILED ? s : false;
      },
      { what: "the trip finished by the other worker", timeoutMs: 40_000, intervalMs: 200 },
    );
    expect({ state: done.state, error: done.error, attempt: done.metadata.attempt }).toEqual({
      state: TaskState.SUCCEEDED,
      error: "",
      attempt: "2",
    });
    expect((JSON.parse(done.output) as { days: unknown[] }).days).toHaveLength(8);
    const perDate = new Map<string, number>();
    for (const d of forecasts) perDate.set(d, (perDate.get(d) ?? 0) + 1);
    expect(perDate.size).toBe(8);
    expect(forecasts.length).toBeLessThanOrEqual(9);

    const listed = await via.listTasks({ workerId: "itinerary-worker" });
    expect(listed.tasks.map((t) => [t.taskId, t.state])).toEqual([
      ["trip-pg", TaskState.SUCCEEDED],
    ]);
  }, 90_000);
});
