// Runs a worker's jobs from the shared task store: accepts, claims, renews leases, resumes the
// jobs of instances that died (including this one's previous life), and cancels on request.
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { TaskRequest } from "../../../gen/agentplatform/v1/platform_pb";
import type { Logger } from "../../../platform/log";
import { clientId, type WorkerDefinition } from "../definitions";
import type { PlatformClient } from "../platform-client";
import type { JobContext } from "./job-context";
import type { TaskPage, TaskQuery } from "./task-query";
import {
  isTerminal,
  isValidTaskId,
  type StoredState,
  type StoredTask,
  type TaskStore,
} from "./task-store";

export interface JobRunnerOptions {
  worker: WorkerDefinition;
  store: TaskStore;
  /** Stable id of this instance; a restart with the same id resumes its old runs at once. */
  instanceId: string;
  logger: Logger;
  platform: () => PlatformClient;
  /** How long a run stays owned without renewal. Default 10 s. */
  leaseMs?: number;
  /** How often to look for queued and orphaned tasks, in ms. Default 1000. */
  scanIntervalMs?: number;
  /** How often a run checks for a cancellation asked of another instance, in ms. Default 500. */
  cancelPollMs?: number;
  /** Jobs this instance runs at once; more wait as PENDING. Default 8. */
  maxConcurrentJobs?: number;
  /** Finished tasks older than this are deleted, in ms; 0 keeps them. Default 7 days. */
  retentionMs?: number;
}

export interface JobRunner {
  submit(request: TaskRequest): Promise<StoredTask>;
  status(taskId: string): Promise<StoredTask>;
  /** One page of the stored tasks, newest first. */
  list(query: TaskQuery): Promise<TaskPage>;
  cancel(taskId: string, reason: string): Promise<StoredTask>;
  /** Resumes orphaned tasks now and keeps looking for them. */
  start(): Promise<void>;
  /** Takes no more work, lets running jobs finish for up to graceMs, then releases the rest for others to resume. */
  stop(graceMs: number): Promise<void>;
  running(): number;
}

type StopReason = { kind: "cancel"; reason: string } | { kind: "drain" } | { kind: "lost" };

interface Run {
  stop(reason: StopReason): void;
  done: Promise<void>;
}

const sameRequest = (a: StoredTask["request"], b: StoredTask["request"]) =>
  a.input === b.input &&
  JSON.stringify(sortKeys(a.parameters)) === JSON.stringify(sortKeys(b.parameters));
const sortKeys = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).sort());

export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const { worker, store, instanceId, logger: log } = options;
  const leaseMs = options.leaseMs ?? 10_000;
  const scanIntervalMs = options.scanIntervalMs ?? 1000;
  const cancelPollMs = options.cancelPollMs ?? 500;
  const maxConcurrent = options.maxConcurrentJobs ?? 8;
  const retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
  const maxAttempts = worker.maxAttempts ?? 3;
  const boot = randomUUID();
  const runs = new Map<string, Run>();
  /** Finished tasks never change again: remember them to skip reading them on every scan. */
  const finished = new Map<string, number>();
  let accepting = true;
  let scanTimer: NodeJS.Timeout | undefined;
  let scanning: Promise<void> | undefined;
  let lastCleanup = 0;

  /**
   * Unowned, lease expired, or (only in the scan at start-up) run by this instance id in a
   * previous life: that process is gone, so there is no need to wait for its lease. Later scans
   * leave such tasks alone, so two live processes mistakenly sharing an id cannot keep stealing
   * a task from each other.
   */
  const claimable = (task: StoredTask, now: number, startup = false) =>
    task.owner === undefined ||
    task.owner.leaseUntilMs < now ||
    (startup && task.owner.instance === instanceId && task.owner.boot !== boot);

  async function finishWithoutRunning(task: StoredTask, state: StoredState, message: string) {
    const now = Date.now();
    const { owner: _released, ...rest } = task;
    const steps = task.steps.map((s) => (isTerminal(s.state) ? s : { ...s, state }));
    await store.write({
      ...rest,
      state,
      steps,
      message,
      ...(state === "FAILED" ? { error: message } : {}),
      updatedAtMs: now,
    });
    finished.set(task.taskId, now);
  }

  /** Claims the next run of a task and starts it, unless it was finished or cancelled meanwhile. */
  async function takeOver(task: StoredTask): Promise<boolean> {
    const attempt = task.attempt + 1;
    if (!(await store.claim(task.taskId, attempt))) return false;
    const fresh = (await store.read(task.taskId)) ?? task;
    if (isTerminal(fresh.state)) {
      finished.set(fresh.taskId, fresh.updatedAtMs);
      return false;
    }
    const claimedTask = { ...fresh, attempt };
    const cancelReason = await store.cancelRequest(task.taskId);
    if (cancelReason !== undefined) {
      await finishWithoutRunning(claimedTask, "CANCELLED", `cancelled: ${cancelReason}`);
      return false;
    }
    if (attempt > maxAttempts) {
      await finishWithoutRunning(
        claimedTask,
        "FAILED",
        `interrupted ${attempt - 1} times (the worker stopped while running it); not retrying`,
      );
      return false;
    }
    if (attempt > 1) log.info("resuming task", { task_id: task.taskId, attempt });
    startRun(claimedTask);
    return true;
  }

  function startRun(task: StoredTask) {
    const id = task.taskId;
    const controller = new AbortController();
    let stopReason: StopReason | undefined;
    const now = Date.now();
    const current: StoredTask = {
      ...task,
      state: "RUNNING",
      message: task.attempt > 1 ? `resumed (run ${task.attempt})` : "started",
      owner: { instance: instanceId, boot, leaseUntilMs: now + leaseMs },
      updatedAtMs: now,
    };
    const runLog = log.child({ task_id: id, attempt: task.attempt });

    // Writes are chained so they land in order; each first checks nobody took the task over.
    let writes: Promise<void> = Promise.resolve();
    const persist = () => {
      writes = writes.then(async () => {
        if (stopReason?.kind === "lost") return;
        if (await store.claimed(id, task.attempt + 1)) {
          stop({ kind: "lost" });
          return;
        }
        const t = Date.now();
        current.updatedAtMs = t;
        if (current.owner) current.owner.leaseUntilMs = t + leaseMs;
        await store.write(current);
      });
      return writes;
    };
    const stop = (reason: StopReason) => {
      if (stopReason) return;
      stopReason = reason;
      controller.abort(reason);
    };

    const planned: string[] = [];
    const progress = () => {
      const total = Math.max(planned.length, current.steps.length);
      const doneSteps = current.steps.filter((s) => s.state === "SUCCEEDED").length;
      return total === 0 ? 0 : Math.min(99, Math.floor((doneSteps / total) * 100));
    };
    const stepNamed = (name: string) => {
      let step = current.steps.find((s) => s.name === name);
      if (!step) {
        step = { name, state: "PENDING", detail: "" };
        current.steps.push(step);
      }
      return step;
    };

    const ctx: JobContext = {
      taskId: id,
      attempt: task.attempt,
      signal: controller.signal,
      logger: runLog,
      get platform() {
        return options.platform();
      },
      async plan(names) {
        planned.splice(0, planned.length, ...names);
        for (const name of names) stepNamed(name);
        current.progress = progress();
        await persist();
      },
      async step<T>(name: string, run: () => Promise<T>): Promise<T> {
        const step = stepNamed(name);
        if (step.state === "SUCCEEDED") return step.result as T;
        if (controller.signal.aborted) throw new ConnectError("job stopped", Code.Canceled);
        step.state = "RUNNING";
        step.detail = "";
        current.message = `running: ${name}`;
        await persist();
        try {
          const result = await run();
          step.state = "SUCCEEDED";
          step.result = result;
          current.progress = progress();
          await persist();
          return result;
        } catch (err) {
          step.state = controller.signal.aborted ? "PENDING" : "FAILED";
          step.detail = err instanceof ConnectError ? err.rawMessage : String(err);
          throw err;
        }
      },
      async report(message) {
        current.message = message;
        await persist();
      },
    };

    const leaseTimer = setInterval(
      () => void persist().catch(() => {}),
      Math.max(100, leaseMs / 3),
    );
    const cancelTimer = setInterval(async () => {
      const reason = await store.cancelRequest(id).catch(() => undefined);
      if (reason !== undefined) stop({ kind: "cancel", reason });
    }, cancelPollMs);
    leaseTimer.unref();
    cancelTimer.unref();

    const settle = async (outcome: { output: string } | { error: unknown }) => {
      clearInterval(leaseTimer);
      clearInterval(cancelTimer);
      if (stopReason?.kind === "lost") {
        runLog.warn("another instance took this task over; stopping here");
        return;
      }
      const t = Date.now();
      if (stopReason?.kind === "drain") {
        // Released, not failed: the next instance to scan (or this one restarted) resumes it.
        current.message = "interrupted by a worker shutdown; waiting to resume";
        delete current.owner;
        for (const s of current.steps) if (s.state === "RUNNING") s.state = "PENDING";
        await persist();
        return;
      }
      delete current.owner;
      if (stopReason?.kind === "cancel") {
        current.state = "CANCELLED";
        current.message = `cancelled: ${stopReason.reason}`;
        for (const s of current.steps) if (!isTerminal(s.state)) s.state = "CANCELLED";
      } else if ("output" in outcome) {
        current.state = "SUCCEEDED";
        current.progress = 100;
        current.output = outcome.output;
        current.message = "done";
      } else {
        const err = ConnectError.from(outcome.error);
        current.state = "FAILED";
        current.error = err.rawMessage;
        current.message = `failed: ${err.rawMessage}`;
        current.metadata = { ...current.metadata, error_code: Code[err.code] ?? String(err.code) };
        runLog.warn("task failed", { err: err.rawMessage, code: Code[err.code] });
      }
      await persist();
      finished.set(id, t);
    };

    const done = (async () => {
      try {
        await persist();
        const output = await worker.run(current.input, ctx);
        await settle({ output });
      } catch (error) {
        await settle({ error });
      }
    })()
      .catch((err: unknown) => runLog.error("could not record the task's state", { err }))
      .finally(() => {
        runs.delete(id);
        // A slot is free: pick up queued work now rather than at the next tick.
        if (accepting) void scan();
      });
    runs.set(id, { stop, done });
  }

  async function scanOnce(startup: boolean) {
    const now = Date.now();
    for (const id of await store.list()) {
      if (!accepting) return;
      if (runs.has(id) || finished.has(id)) continue;
      let task: StoredTask | undefined;
      try {
        task = await store.read(id);
      } catch (err) {
        log.error("unreadable task record", { task_id: id, err });
        continue;
      }
      if (!task) continue;
      if (isTerminal(task.state)) {
        finished.set(id, task.updatedAtMs);
        continue;
      }
      if (runs.size >= maxConcurrent || !claimable(task, now, startup)) continue;
      await takeOver(task).catch((err: unknown) =>
        log.error("could not take over task", { task_id: id, err }),
      );
    }
    if (retentionMs > 0 && now - lastCleanup > 60_000) {
      lastCleanup = now;
      for (const [id, at] of finished) {
        if (now - at > retentionMs) {
          finished.delete(id);
          await store.remove(id).catch(() => {});
        }
      }
    }
  }
  function scan(startup = false): Promise<void> {
    scanning ??= scanOnce(startup)
      .catch((err: unknown) => log.error("task scan failed", { err }))
      .finally(() => {
        scanning = undefined;
      });
    return scanning;
  }

  async function read(taskId: string): Promise<StoredTask> {
    const task = await store.read(taskId);
    if (!task) {
      throw new ConnectError(`no task "${taskId}" on ${clientId(worker)}`, Code.NotFound);
    }
    return task;
  }

  return {
    running: () => runs.size,
    async submit(request) {
      if (!accepting) {
        throw new ConnectError(`${clientId(worker)} is shutting down`, Code.Unavailable);
      }
      const taskId = request.taskId || randomUUID();
      if (!isValidTaskId(taskId)) {
        throw new ConnectError(
          "task_id must be 1-128 letters, digits, '-' or '_', starting with a letter or digit",
          Code.InvalidArgument,
        );
      }
      const input = worker.accept(request);
      const now = Date.now();
      const task: StoredTask = {
        taskId,
        worker: clientId(worker),
        state: "PENDING",
        progress: 0,
        message: "queued",
        output: "",
        error: "",
        createdAtMs: now,
        updatedAtMs: now,
        request: { input: request.input, parameters: { ...request.parameters } },
        input,
        steps: [],
        attempt: 0,
        metadata: {},
      };
      if (!(await store.create(task))) {
        // A retried ProcessTask gets the task it created; a different job under the same id is refused.
        const existing = await read(taskId);
        if (sameRequest(existing.request, task.request)) return existing;
        throw new ConnectError(
          `task "${taskId}" exists with a different request`,
          Code.AlreadyExists,
        );
      }
      if (runs.size < maxConcurrent) await takeOver(task);
      return (await store.read(taskId)) ?? task;
    },
    status: read,
    list: (query) => store.listTasks(query),
    async cancel(taskId, reason) {
      const task = await read(taskId);
      if (isTerminal(task.state)) return task;
      await store.requestCancel(taskId, reason);
      const local = runs.get(taskId);
      if (local) {
        local.stop({ kind: "cancel", reason });
        await local.done;
        return read(taskId);
      }
      if (claimable(task, Date.now())) {
        await takeOver(task);
        return read(taskId);
      }
      // Another live instance runs it and notices the request within cancelPollMs.
      const deadline = Date.now() + cancelPollMs * 6;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, cancelPollMs / 2));
        const now = await read(taskId);
        if (isTerminal(now.state)) return now;
      }
      return { ...(await read(taskId)), message: `cancellation requested: ${reason}` };
    },
    async start() {
      await scan(true);
      scanTimer = setInterval(() => void scan(), scanIntervalMs);
      scanTimer.unref();
    },
    async stop(graceMs) {
      accepting = false;
      clearInterval(scanTimer);
      await scanning;
      const all = [...runs.values()];
      const timer = new Promise<void>((r) => setTimeout(r, graceMs).unref());
      await Promise.race([Promise.all(all.map((r) => r.done)), timer]);
      for (const r of runs.values()) r.stop({ kind: "drain" });
      await Promise.all(all.map((r) => r.done));
    },
  };
}
