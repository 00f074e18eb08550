// How a run changes its task record: started, steps planned and finished, and the outcome. Pure
// functions over the record, so each transition is tested on its own, without a store or timers.
import { Code, ConnectError } from "@connectrpc/connect";
import { isTerminal, type StoredState, type StoredStep, type StoredTask } from "./task-store";

export type RunOutcome =
  | { kind: "succeeded"; output: string }
  | { kind: "failed"; error: unknown }
  | { kind: "cancelled"; reason: string }
  /** This instance stops (drain): released unfinished, for the next instance to resume. */
  | { kind: "released" };

/** The record as a run begins: RUNNING, saying whether it resumes an interrupted run. */
export function startedRun(task: StoredTask): StoredTask {
  return {
    ...task,
    steps: task.steps.map((s) => ({ ...s })),
    state: "RUNNING",
    message: task.attempt > 1 ? `resumed (run ${task.attempt})` : "started",
  };
}

/** The step called `name`, added as PENDING when the job has not named it before. */
export function stepNamed(task: StoredTask, name: string): StoredStep {
  let step = task.steps.find((s) => s.name === name);
  if (!step) {
    step = { name, state: "PENDING", detail: "" };
    task.steps.push(step);
  }
  return step;
}

/** Percent of the planned (or known) steps that succeeded; 100 only once the task succeeds. */
export function progressOf(task: StoredTask, planned: number): number {
  const total = Math.max(planned, task.steps.length);
  const done = task.steps.filter((s) => s.state === "SUCCEEDED").length;
  return total === 0 ? 0 : Math.min(99, Math.floor((done / total) * 100));
}

/** Applies the outcome to the record (in place) and gives up ownership. */
export function finishRun(task: StoredTask, outcome: RunOutcome): void {
  delete task.owner;
  switch (outcome.kind) {
    case "released":
      task.message = "interrupted by a worker shutdown; waiting to resume";
      for (const s of task.steps) if (s.state === "RUNNING") s.state = "PENDING";
      return;
    case "cancelled":
      task.state = "CANCELLED";
      task.message = `cancelled: ${outcome.reason}`;
      for (const s of task.steps) if (!isTerminal(s.state)) s.state = "CANCELLED";
      return;
    case "succeeded":
      task.state = "SUCCEEDED";
      task.progress = 100;
      task.output = outcome.output;
      task.message = "done";
      return;
    case "failed": {
      const err = ConnectError.from(outcome.error);
      task.state = "FAILED";
      task.error = err.rawMessage;
      task.message = `failed: ${err.rawMessage}`;
      task.metadata = { ...task.metadata, error_code: Code[err.code] ?? String(err.code) };
      return;
    }
  }
}

/** A claimed task finished without running (cancelled before it started, or out of attempts). */
export function finishedWithoutRunning(
  task: StoredTask,
  state: StoredState,
  message: string,
): StoredTask {
  const { owner: _released, ...rest } = task;
  return {
    ...rest,
    state,
    steps: task.steps.map((s) => (isTerminal(s.state) ? s : { ...s, state })),
    message,
    ...(state === "FAILED" ? { error: message } : {}),
  };
}
