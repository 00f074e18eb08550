// Runs a worker's jobs from the shared task store: accepts, claims, resumes the jobs of instances
// that died (including this one's previous life), and cancels on request. The parts live on their
// own: run-state (how a record changes), run-writer (fenced, ordered writes and lease renewal),
// job-scheduler (when to look for work).
import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { TaskRequest } from "../../../gen/agentplatform/v1/platform_pb";
import type { Logger } from "../../../platform/log";
import { activeTraceContext } from "../../../platform/tracing/trace-carrier";
import { clientId, type WorkerDefinition } from "../definitions";
import type { PlatformClient } from "../platform-client";
import type { JobContext } from "./job-context";
import { createJobScheduler } from "./job-scheduler";
import { startJobTrace } from "./job-trace";
import {
  finishedWithoutRunning,
  finishRun,
  progressOf,
  type RunOutcome,
  startedRun,
  stepNamed,
} from "./run-state";
import { createRunWriter } from "./run-writer";
import type { TaskPage, TaskQuery } from "./task-query";
import {
  type Claimant,
  isTerminal,
  isValidTaskId,
  type StoredTask,
  StoreUnavailableError,
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
  /** How often to sweep for queued and abandoned tasks, in ms. Default 1000. */
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

/** A store that cannot be reached right now is UNAVAILABLE to callers: they may retry. */
const unavailable = (err: unknown): never => {
  if (err instanceof StoreUnavailableError) {
    throw new ConnectError("the task store is unreachable right now; retry", Code.Unavailable);
  }
  throw err;
};

export function createJobRunner(options: JobRunnerOptions): JobRunner {
  const { worker, store, instanceId, logger: log } = options;
  const leaseMs = options.leaseMs ?? 10_000;
  const cancelPollMs = options.cancelPollMs ?? 500;
  const maxConcurrent = options.maxConcurrentJobs ?? 8;
  const retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
  const maxAttempts = worker.maxAttempts ?? 3;
  const me: Claimant = { instance: instanceId, boot: randomUUID() };
  const runs = new Map<string, Run>();
  /** Slots promised to submissions being stored, not yet in `runs`. */
  let reserved = 0;
  let accepting = true;

  const scheduler = createJobScheduler({
    logger: log,
    sweepIntervalMs: options.scanIntervalMs ?? 1000,
    cleanupIntervalMs: retentionMs > 0 ? 60_000 : 0,
    freeSlots: () => (accepting ? maxConcurrent - runs.size - reserved : 0),
    async claim(slots, startup) {
      const claimed = await store.claimNext(me, slots, { leaseMs, reclaimOwn: startup });
      for (const task of claimed) await begin(task);
    },
    async cleanup() {
      const removed = await store.removeFinished(retentionMs);
      if (removed > 0) log.info("removed old finished tasks", { removed });
    },
  });
  store.watch(() => scheduler.poke());

  /** Writes a claimed task's end without running it; fenced like any owner's write. */
  async function finishClaimed(task: StoredTask, state: "CANCELLED" | "FAILED", message: string) {
    await store.update(finishedWithoutRunning(task, state, message), leaseMs);
  }

  /** Runs a task this instance just claimed, unless it was cancelled or ran out of attempts. */
  async function begin(task: StoredTask): Promise<void> {
    try {
      const cancelReason = await store.cancelRequest(task.taskId);
      if (cancelReason !== undefined) {
        await finishClaimed(task, "CANCELLED", `cancelled: ${cancelReason}`);
        return;
      }
      if (task.attempt > maxAttempts) {
        await finishClaimed(
          task,
          "FAILED",
          `interrupted ${task.attempt - 1} times (the worker stopped while running it); not retrying`,
        );
        return;
      }
    } catch (err) {
      // Not started: the lease runs out and the task is claimed again.
      log.warn("could not start a claimed task", { task_id: task.taskId, err: String(err) });
      return;
    }
    if (task.attempt > 1)
      log.info("resuming task", { task_id: task.taskId, attempt: task.attempt });
    startRun(task);
  }

  function startRun(claimed: StoredTask) {
    const id = claimed.taskId;
    const controller = new AbortController();
    let stopReason: StopReason | undefined;
    const current = startedRun(claimed);
    const jobTrace = startJobTrace(claimed);
    const runLog = log.child({ task_id: id, attempt: claimed.attempt });
    const stop = (reason: StopReason) => {
      if (stopReason) return;
      stopReason = reason;
      controller.abort(reason);
    };
    const writer = createRunWriter({
      store,
      current,
      leaseMs,
      logger: runLog,
      onLost: (why) => {
        runLog.warn(
          why === "claimed"
            ? "another instance took this task over; stopping here"
            : "the task store stayed unreachable; stopping here for another run to resume",
        );
        stop({ kind: "lost" });
      },
    });
    const persist = () => writer.persist();

    let planned = 0;
    const ctx: JobContext = {
      taskId: id,
      attempt: claimed.attempt,
      signal: controller.signal,
      logger: runLog,
      get platform() {
        return options.platform();
      },
      async plan(names) {
        planned = names.length;
        for (const name of names) stepNamed(current, name);
        current.progress = progressOf(current, planned);
        await persist();
      },
      async step<T>(name: string, run: () => Promise<T>): Promise<T> {
        const step = stepNamed(current, name);
        if (step.state === "SUCCEEDED") return step.result as T;
        if (controller.signal.aborted) throw new ConnectError("job stopped", Code.Canceled);
        return jobTrace.step(
          name,
          async () => {
            step.state = "RUNNING";
            step.detail = "";
            current.message = `running: ${name}`;
            await persist();
            try {
              const result = await run();
              step.state = "SUCCEEDED";
              step.result = result;
              current.progress = progressOf(current, planned);
              await persist();
              if (writer.lost()) throw new ConnectError("job stopped", Code.Canceled);
              return result;
            } catch (err) {
              step.state = controller.signal.aborted ? "PENDING" : "FAILED";
              step.detail = err instanceof ConnectError ? err.rawMessage : String(err);
              throw err;
            }
          },
          () => step.state,
        );
      },
      async report(message) {
        current.message = message;
        await persist();
      },
    };

    const cancelTimer = setInterval(async () => {
      const reason = await store.cancelRequest(id).catch(() => undefined);
      if (reason !== undefined) stop({ kind: "cancel", reason });
    }, cancelPollMs);
    cancelTimer.unref();

    const settle = async (result: { output: string } | { error: unknown }) => {
      writer.stopRenewing();
      clearInterval(cancelTimer);
      if (stopReason?.kind === "lost" || writer.lost()) {
        jobTrace.end("lost");
        return;
      }
      let outcome: RunOutcome;
      if (stopReason?.kind === "drain") outcome = { kind: "released" };
      else if (stopReason?.kind === "cancel")
        outcome = { kind: "cancelled", reason: stopReason.reason };
      else if ("output" in result) outcome = { kind: "succeeded", output: result.output };
      else outcome = { kind: "failed", error: result.error };
      if (outcome.kind === "failed") {
        const err = ConnectError.from(outcome.error);
        runLog.warn("task failed", { err: err.rawMessage, code: Code[err.code] });
      }
      finishRun(current, outcome);
      jobTrace.end(outcome.kind, outcome.kind === "failed" ? outcome.error : undefined);
      await persist();
    };

    const done = (async () => {
      try {
        await persist();
        if (writer.lost()) return;
        writer.startRenewing();
        const output = await jobTrace.run(() => worker.run(current.input, ctx));
        await settle({ output });
      } catch (error) {
        await settle({ error });
      }
    })()
      .catch((err: unknown) => runLog.error("could not record the task's state", { err }))
      .finally(() => {
        // Ended already unless the run's record could not be written.
        jobTrace.end("lost");
        writer.stopRenewing();
        clearInterval(cancelTimer);
        runs.delete(id);
        // A slot is free: pick up queued work now rather than at the next sweep.
        scheduler.poke();
      });
    runs.set(id, { stop, done });
  }

  async function read(taskId: string): Promise<StoredTask> {
    const task = await store.read(taskId).catch(unavailable);
    if (!task) {
      throw new ConnectError(`no task "${taskId}" on ${clientId(worker)}`, Code.NotFound);
    }
    return task;
  }

  /** Claims this one task now (it was just submitted, or is to be cancelled) and begins it. */
  async function claimAndBegin(taskId: string): Promise<boolean> {
    const claimed = await store.claim(taskId, me, { leaseMs });
    if (!claimed) return false;
    await begin(claimed);
    return true;
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
        leaseVersion: 0,
        metadata: {},
      };
      const traceContext = activeTraceContext();
      if (traceContext !== undefined) task.traceContext = traceContext;
      // With a free slot, stored already claimed by this instance, and run here at once.
      const runHere = accepting && runs.size + reserved < maxConcurrent;
      if (runHere) reserved++;
      let created: boolean;
      try {
        created = await store
          .create(task, runHere ? { who: me, leaseMs } : undefined)
          .catch(unavailable);
      } catch (err) {
        if (runHere) reserved--;
        throw err;
      }
      if (!created) {
        if (runHere) reserved--;
        // A retried ProcessTask gets the task it created; a different job under the same id is refused.
        const existing = await read(taskId);
        if (sameRequest(existing.request, task.request)) return existing;
        throw new ConnectError(
          `task "${taskId}" exists with a different request`,
          Code.AlreadyExists,
        );
      }
      // Accepted and stored: from here on, a failure only delays the task (its lease runs out
      // and a sweep claims it).
      if (runHere) {
        const claimed: StoredTask = {
          ...task,
          attempt: 1,
          leaseVersion: 1,
          owner: { ...me, leaseUntilMs: now + leaseMs },
        };
        await begin(claimed)
          .catch((err: unknown) =>
            log.warn("could not start the task at once", { task_id: taskId, err: String(err) }),
          )
          .finally(() => {
            reserved--;
          });
      }
      return (await store.read(taskId).catch(() => undefined)) ?? task;
    },
    status: read,
    list: (query) => store.listTasks(query).catch(unavailable),
    async cancel(taskId, reason) {
      const task = await read(taskId);
      if (isTerminal(task.state)) return task;
      await store.requestCancel(taskId, reason).catch(unavailable);
      const local = runs.get(taskId);
      if (local) {
        local.stop({ kind: "cancel", reason });
        await local.done;
        return read(taskId);
      }
      if (await claimAndBegin(taskId).catch(unavailable)) return read(taskId);
      // Another live instance runs it and notices the request within cancelPollMs.
      const deadline = Date.now() + cancelPollMs * 6;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, cancelPollMs / 2));
        const now = await read(taskId);
        if (isTerminal(now.state)) return now;
      }
      return { ...(await read(taskId)), message: `cancellation requested: ${reason}` };
    },
    start: () => scheduler.start(),
    async stop(graceMs) {
      accepting = false;
      await scheduler.stop();
      const all = [...runs.values()];
      const timer = new Promise<void>((r) => setTimeout(r, graceMs).unref());
      await Promise.race([Promise.all(all.map((r) => r.done)), timer]);
      for (const r of runs.values()) r.stop({ kind: "drain" });
      await Promise.all(all.map((r) => r.done));
    },
  };
}
