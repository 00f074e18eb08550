import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskState, type TaskStatusResponse } from "../../gen/agentplatform/v1/platform_pb";
import { eventually } from "../../platform/test-support/eventually";
import type { Router } from "../../router/router";
import { startTestRouter } from "../../router/test-support/cluster";
import { type RunningService, startService } from "../sdk";
import {
  clientsFor,
  codeOf,
  quietLogger,
  startTestRegistry,
} from "../sdk/test-support/test-services";
import { loadClimateDataset } from "../weather/climate-dataset";
import { createClimatologyProvider } from "../weather/climatology-provider";
import { createWeatherTool } from "../weather/weather-tool";
import { itineraryWorker } from "./itinerary-worker";

let dir: string;
let stopRegistry: () => Promise<void>;
let consulAddress: string;
let router: Router;
let weather: RunningService;
let workerA: RunningService;
let workerB: RunningService | undefined;
let viaRouter: ReturnType<typeof clientsFor>;

const startWorker = (instanceId: string) =>
  startService(itineraryWorker, {
    consulAddress,
    dataDir: dir,
    instanceId,
    logger: quietLogger,
    drainDelayMs: 0,
    metricsPort: -1,
    jobs: { leaseMs: 1500, scanIntervalMs: 200, cancelPollMs: 100 },
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "itinerary-"));
  const { registry, consul } = await startTestRegistry();
  stopRegistry = () => registry.close();
  consulAddress = registry.address;
  router = await startTestRouter(consul);
  const common = { consulAddress, logger: quietLogger, drainDelayMs: 0, metricsPort: -1 };
  weather = await startService(
    createWeatherTool(createClimatologyProvider(loadClimateDataset())),
    common,
  );
  workerA = await startWorker("worker-itinerary-a");
  viaRouter = clientsFor(router.address);
  // Ready once the router can reach both the tool and the worker.
  await eventually(
    () =>
      viaRouter.tools.executeTool(
        { toolId: "weather-tool", operation: "cities" },
        { timeoutMs: 2000 },
      ),
    { what: "weather tool routable" },
  );
  await eventually(
    () => viaRouter.workers.listWorkers({}).then((r) => (r.workers.length > 0 ? r : false)),
    { what: "worker routable" },
  );
});
afterAll(async () => {
  await workerB?.stop(100);
  await workerA.stop(100);
  await weather.stop(100);
  await router.close(100);
  await stopRegistry();
  rmSync(dir, { recursive: true, force: true });
});

const status = (taskId: string) =>
  viaRouter.workers.getTaskStatus({ taskId, workerId: "itinerary-worker" });
const until = (taskId: string, done: (s: TaskStatusResponse) => boolean, timeoutMs = 15_000) =>
  eventually(
    async () => {
      const s = await status(taskId);
      return done(s) ? s : false;
    },
    { what: `task ${taskId}`, timeoutMs: timeoutMs, intervalMs: 100 },
  );
const terminal = (s: TaskStatusResponse) =>
  s.state === TaskState.SUCCEEDED ||
  s.state === TaskState.FAILED ||
  s.state === TaskState.CANCELLED;

describe("itinerary worker through a router", () => {
  it("accepts at once, reports progress by steps, and plans each day from the weather tool", async () => {
    const accepted = await viaRouter.workers.processTask({
      agentId: "itinerary-worker",
      input: "Lisbon",
      parameters: { days: "3", start_date: "2025-07-10", pace_ms: "150" },
    });
    expect(accepted.success).toBe(true);
    const taskId = accepted.taskId;

    const running = await until(
      taskId,
      (s) => s.state === TaskState.RUNNING && s.progress > 0 && s.progress < 100,
    );
    expect(running.steps.map((s) => s.name)).toEqual([
      "validate",
      "weather 2025-07-10",
      "weather 2025-07-11",
      "weather 2025-07-12",
      "plan activities",
      "compile",
    ]);

    const done = await until(taskId, terminal);
    expect(done.state).toBe(TaskState.SUCCEEDED);
    expect(done.progress).toBe(100);
    expect(done.steps.every((s) => s.state === TaskState.SUCCEEDED)).toBe(true);
    const plan = JSON.parse(done.output) as {
      city: string;
      days: { date: string; weather: { high: number }; morning: string }[];
      basis: string;
    };
    expect(plan.city).toBe("Lisbon");
    expect(plan.basis).toBe("climatology");
    expect(plan.days.map((d) => d.date)).toEqual(["2025-07-10", "2025-07-11", "2025-07-12"]);
    // The day's weather is exactly what the weather tool answers for that date.
    const tool = await viaRouter.tools.executeTool({
      toolId: "weather-tool",
      operation: "forecast",
      parameters: { city: "Lisbon", start_date: "2025-07-11", days: "1" },
    });
    const [day] = (JSON.parse(tool.outputJson) as { days: { high: number }[] }).days;
    expect(plan.days[1]?.weather.high).toBe(day?.high);
    expect(plan.days[0]?.morning).not.toBe("");
  });

  it("refuses bad requests at once and reports an unknown city as a failed task with suggestions", async () => {
    expect(
      await codeOf(
        viaRouter.workers.processTask({
          agentId: "itinerary-worker",
          input: "Rome",
          parameters: { days: "40" },
        }),
      ),
    ).toBe(Code.InvalidArgument);
    expect(
      await codeOf(viaRouter.workers.processTask({ agentId: "itinerary-worker", input: "" })),
    ).toBe(Code.InvalidArgument);
    expect(await codeOf(status("no-such-task"))).toBe(Code.NotFound);

    const accepted = await viaRouter.workers.processTask({
      agentId: "itinerary-worker",
      input: JSON.stringify({ city: "Lisbonn", days: 2 }),
      parameters: { pace_ms: "0" },
    });
    const failed = await until(accepted.taskId, terminal);
    expect(failed.state).toBe(TaskState.FAILED);
    expect(failed.error).toContain('did you mean "Lisbon"');
    expect(failed.metadata.error_code).toBe("NotFound");
  });

  it("is idempotent for a retried ProcessTask with the same task id", async () => {
    const req = {
      agentId: "itinerary-worker",
      taskId: "same-id",
      input: "Oslo",
      parameters: { days: "1", pace_ms: "0" },
    };
    const first = await viaRouter.workers.processTask(req);
    const again = await viaRouter.workers.processTask(req);
    expect(again.taskId).toBe(first.taskId);
    expect(await codeOf(viaRouter.workers.processTask({ ...req, input: "Paris" }))).toBe(
      Code.AlreadyExists,
    );
  });

  it("cancels a running task", async () => {
    const accepted = await viaRouter.workers.processTask({
      agentId: "itinerary-worker",
      input: "Tokyo",
      parameters: { days: "10", pace_ms: "300" },
    });
    await until(accepted.taskId, (s) => s.state === TaskState.RUNNING);
    const cancelled = await viaRouter.workers.cancelTask({
      taskId: accepted.taskId,
      workerId: "itinerary-worker",
      reason: "changed plans",
    });
    expect(cancelled.state).toBe(TaskState.CANCELLED);
    expect(cancelled.message).toContain("changed plans");
    const later = await status(accepted.taskId);
    expect(later.state).toBe(TaskState.CANCELLED);
    expect(later.steps.some((s) => s.state === TaskState.CANCELLED)).toBe(true);
  });

  it("hands a task to another instance when its worker drains, and any instance reports it", async () => {
    workerB = await startWorker("worker-itinerary-b");
    const direct = (w: RunningService) => clientsFor(w.address).workers;
    const accepted = await direct(workerA).processTask({
      input: "Berlin",
      parameters: { days: "6", pace_ms: "200" },
    });
    const taskId = accepted.taskId;
    await until(taskId, (s) => s.progress >= 20);
    // Instance B reads the shared store: it knows the task instance A is running.
    expect((await direct(workerB).getTaskStatus({ taskId })).state).toBe(TaskState.RUNNING);

    await workerA.stop(0);
    const done = await eventually(
      async () => {
        const s = await direct(workerB as RunningService).getTaskStatus({ taskId });
        return terminal(s) ? s : false;
      },
      { what: "task finished by B", timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(done.state).toBe(TaskState.SUCCEEDED);
    expect(Number(done.metadata.attempt)).toBe(2);
    expect((JSON.parse(done.output) as { days: unknown[] }).days).toHaveLength(6);
    workerA = await startWorker("worker-itinerary-a");
  });
});
