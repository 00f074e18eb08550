// The file store's lock files: a lock left by a crash never blocks a task for long, and a live
// holder on another host is waited for, not broken.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openFileTaskStore } from "./file-task-store";
import { type StoredTask, StoreUnavailableError } from "./task-store";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "file-store-"));
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
const who = { instance: "a", boot: "1" };

describe("file task store locks", () => {
  it("breaks a lock whose process on this host is gone", async () => {
    const store = await openFileTaskStore(dir);
    await store.create(pending);
    const gone = spawnSync("true").pid;
    writeFileSync(join(store.dir, "t.lock"), `${hostname()} ${gone}`);
    expect(await store.claim("t", who, { leaseMs: 1000 })).toMatchObject({ leaseVersion: 1 });
  });

  it("waits for a fresh lock held on another host, and breaks it once it is stale", async () => {
    const store = await openFileTaskStore(dir, { lockTimeoutMs: 200, staleLockMs: 60_000 });
    await store.create(pending);
    writeFileSync(join(store.dir, "t.lock"), "another-host 1");
    await expect(store.claim("t", who, { leaseMs: 1000 })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    const patient = await openFileTaskStore(dir, { staleLockMs: 100 });
    await new Promise((r) => setTimeout(r, 150));
    expect(await patient.claim("t", who, { leaseMs: 1000 })).toMatchObject({ leaseVersion: 1 });
  });
});
