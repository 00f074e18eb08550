import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { quietLogger } from "../test-support/test-services";
import { openFileTaskStore } from "./file-task-store";
import { createRunWriter } from "./run-writer";
import { type StoredTask, StoreUnavailableError, type TaskStore } from "./task-store";

let dir: string;
let store: TaskStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "run-writer-"));
  store = await openFileTaskStore(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const pending: StoredTask = {
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
  attempt: 0,
  leaseVersion: 0,
  metadata: {},
};
const a = { instance: "a", boot: "1" };
const b = { instance: "b", boot: "1" };

async function claimedBy(who: typeof a, leaseMs: number) {
  const t = await store.claim("t", who, { leaseMs });
  if (!t) throw new Error("not claimed");
  return t;
}

describe("run writer", () => {
  it("writes in order and keeps the lease alive while renewing", async () => {
    await store.create(pending);
    const current = await claimedBy(a, 300);
    const writer = createRunWriter({
      store,
      current,
      leaseMs: 300,
      logger: quietLogger,
      onLost: () => {},
    });
    current.message = "one";
    const first = writer.persist();
    current.message = "two";
    await Promise.all([first, writer.persist()]);
    expect((await store.read("t"))?.message).toBe("two");
    writer.startRenewing();
    await new Promise((r) => setTimeout(r, 700));
    expect(await store.claim("t", b, { leaseMs: 300 })).toBeUndefined();
    writer.stopRenewing();
    // As the job runner does: a renewal still in flight lands before the next write, and
    // before the test removes the store's directory.
    await writer.persist();
    expect(writer.lost()).toBe(false);
  });

  it("reports the run lost, once, when another instance claimed the task", async () => {
    await store.create(pending);
    const current = await claimedBy(a, 100);
    const lost: string[] = [];
    const writer = createRunWriter({
      store,
      current,
      leaseMs: 100,
      logger: quietLogger,
      onLost: (why) => lost.push(why),
    });
    await new Promise((r) => setTimeout(r, 200));
    await claimedBy(b, 10_000);
    current.state = "SUCCEEDED";
    await writer.persist();
    await writer.persist();
    expect(lost).toEqual(["claimed"]);
    expect(writer.lost()).toBe(true);
    expect((await store.read("t"))?.state).toBe("PENDING");
  });

  it("retries while the store is unreachable, and gives up after giveUpMs", async () => {
    await store.create(pending);
    const current = await claimedBy(a, 10_000);
    let failures = 2;
    const flaky: TaskStore = {
      ...store,
      update(task, leaseMs) {
        if (failures-- > 0) return Promise.reject(new StoreUnavailableError("down"));
        return store.update(task, leaseMs);
      },
    };
    const lost: string[] = [];
    const writer = createRunWriter({
      store: flaky,
      current,
      leaseMs: 10_000,
      retryMs: 10,
      logger: quietLogger,
      onLost: (why) => lost.push(why),
    });
    current.message = "after two failures";
    await writer.persist();
    expect((await store.read("t"))?.message).toBe("after two failures");

    const down: TaskStore = {
      ...store,
      update: () => Promise.reject(new StoreUnavailableError("down")),
    };
    const doomed = createRunWriter({
      store: down,
      current,
      leaseMs: 10_000,
      retryMs: 10,
      giveUpMs: 200,
      logger: quietLogger,
      onLost: (why) => lost.push(why),
    });
    await doomed.persist();
    expect(lost).toEqual(["unreachable"]);
  });
});
