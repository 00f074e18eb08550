import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { finishedWithoutRunning, finishRun, progressOf, startedRun, stepNamed } from "./run-state";
import type { StoredTask } from "./task-store";

const claimed = (overrides: Partial<StoredTask> = {}): StoredTask => ({
  taskId: "t",
  worker: "w",
  state: "PENDING",
  progress: 0,
  message: "queued",
  output: "",
  error: "",
  createdAtMs: 1,
  updatedAtMs: 1,
  request: { input: "", parameters: {} },
  input: {},
  steps: [],
  attempt: 1,
  leaseVersion: 1,
  owner: { instance: "a", boot: "b", leaseUntilMs: 10 },
  metadata: {},
  ...overrides,
});

describe("run state", () => {
  it("starts RUNNING, saying when it resumes, without sharing steps with the claimed record", () => {
    const first = claimed();
    expect(startedRun(first)).toMatchObject({ state: "RUNNING", message: "started" });
    const again = claimed({
      attempt: 2,
      steps: [{ name: "a", state: "SUCCEEDED", detail: "", result: 1 }],
    });
    const run = startedRun(again);
    expect(run.message).toBe("resumed (run 2)");
    stepNamed(run, "b");
    expect(again.steps).toHaveLength(1);
    expect(run.steps.map((s) => s.name)).toEqual(["a", "b"]);
  });

  it("counts progress over planned steps and never reports 100 before success", () => {
    const t = claimed();
    expect(progressOf(t, 0)).toBe(0);
    for (const n of ["a", "b", "c", "d"]) stepNamed(t, n);
    const [a, b, c, d] = t.steps;
    if (!a || !b || !c || !d) throw new Error("steps");
    a.state = "SUCCEEDED";
    expect(progressOf(t, 4)).toBe(25);
    expect(progressOf(t, 8)).toBe(12);
    for (const s of [b, c, d]) s.state = "SUCCEEDED";
    expect(progressOf(t, 4)).toBe(99);
  });

  it("records each outcome and lets go of the lease", () => {
    const ok = startedRun(claimed());
    finishRun(ok, { kind: "succeeded", output: "out" });
    expect(ok).toMatchObject({ state: "SUCCEEDED", progress: 100, output: "out", message: "done" });
    expect(ok.owner).toBeUndefined();

    const failed = startedRun(claimed());
    finishRun(failed, { kind: "failed", error: new ConnectError("no city", Code.NotFound) });
    expect(failed).toMatchObject({
      state: "FAILED",
      error: "no city",
      metadata: { error_code: "NotFound" },
    });

    const cancelled = startedRun(claimed({ steps: [{ name: "a", state: "RUNNING", detail: "" }] }));
    finishRun(cancelled, { kind: "cancelled", reason: "user" });
    expect(cancelled).toMatchObject({ state: "CANCELLED", message: "cancelled: user" });
    expect(cancelled.steps[0]?.state).toBe("CANCELLED");

    const released = startedRun(
      claimed({
        steps: [
          { name: "a", state: "SUCCEEDED", detail: "" },
          { name: "b", state: "RUNNING", detail: "" },
        ],
      }),
    );
    finishRun(released, { kind: "released" });
    // Still unfinished, unowned: the next instance resumes it from step b.
    expect(released.state).toBe("RUNNING");
    expect(released.owner).toBeUndefined();
    expect(released.steps.map((s) => s.state)).toEqual(["SUCCEEDED", "PENDING"]);
  });

  it("finishes a claimed task without running it, keeping finished steps", () => {
    const t = finishedWithoutRunning(
      claimed({
        steps: [
          { name: "a", state: "SUCCEEDED", detail: "" },
          { name: "b", state: "PENDING", detail: "" },
        ],
      }),
      "FAILED",
      "interrupted 3 times",
    );
    expect(t).toMatchObject({ state: "FAILED", error: "interrupted 3 times" });
    expect(t.owner).toBeUndefined();
    expect(t.steps.map((s) => s.state)).toEqual(["SUCCEEDED", "FAILED"]);
  });
});
