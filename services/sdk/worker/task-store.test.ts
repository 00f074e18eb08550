// One suite, both stores: what the job runner relies on holds for the embedded file store and
// for PostgreSQL alike, and ListTasks gives the same answers on both.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quietLogger } from "../test-support/test-services";
import { openFileTaskStore } from "./file-task-store";
import { openPostgresTaskStore } from "./postgres-task-store";
import { pageOf, type TaskQuery } from "./task-query";
import type { Claimant, StoredState, StoredTask, TaskStore } from "./task-store";
import { type PostgresCluster, startPostgresCluster } from "./test-support/postgres-cluster";

let cluster: PostgresCluster;
let databaseUrl: string;
const dirs: string[] = [];
const stores: TaskStore[] = [];
let workers = 0;

beforeAll(async () => {
  cluster = await startPostgresCluster();
  databaseUrl = await cluster.createDatabase("store_suite");
}, 60_000);
afterAll(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await cluster.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Opens `count` handles on one fresh store (as `count` worker processes would). */
type Opener = (count?: number) => Promise<TaskStore[]>;

const openFile: Opener = async (count = 1) => {
  const dir = mkdtempSync(join(tmpdir(), "store-suite-"));
  dirs.push(dir);
  const opened = await Promise.all(Array.from({ length: count }, () => openFileTaskStore(dir)));
  stores.push(...opened);
  return opened;
};
const openPostgres: Opener = async (count = 1) => {
  // Each test its own worker id: the same table, a separate set of tasks.
  const worker = `suite-${++workers}-worker`;
  const opened = await Promise.all(
    Array.from({ length: count }, () =>
      openPostgresTaskStore({ connectionString: databaseUrl, worker, logger: quietLogger }),
    ),
  );
  stores.push(...opened);
  return opened;
};

const base = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const task = (id: string, overrides: Partial<StoredTask> = {}): StoredTask => ({
  taskId: id,
  worker: "w",
  state: "PENDING",
  progress: 0,
  message: "queued",
  output: "",
  error: "",
  createdAtMs: base,
  updatedAtMs: base,
  request: { input: id, parameters: { k: "v" } },
  input: { id },
  steps: [],
  attempt: 0,
  leaseVersion: 0,
  metadata: {},
  ...overrides,
});
const a: Claimant = { instance: "a", boot: "a1" };
const b: Claimant = { instance: "b", boot: "b1" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each([
  { kind: "file", open: openFile },
  { kind: "postgres", open: openPostgres },
])("$kind task store", ({ open }) => {
  it("creates once, reads back what it stored", async () => {
    const [store] = await open();
    if (!store) throw new Error("no store");
    expect(
      await store.create(task("t1", { steps: [{ name: "s", state: "PENDING", detail: "" }] })),
    ).toBe(true);
    expect(await store.create(task("t1", { message: "again" }))).toBe(false);
    expect(await store.read("t1")).toMatchObject({
      taskId: "t1",
      state: "PENDING",
      message: "queued",
      createdAtMs: base,
      request: { input: "t1", parameters: { k: "v" } },
      input: { id: "t1" },
      steps: [{ name: "s", state: "PENDING", detail: "" }],
      leaseVersion: 0,
    });
    expect(await store.read("missing")).toBeUndefined();
  });

  it("keeps the trace context of the accepting call through claims and updates", async () => {
    const [store] = await open();
    if (!store) throw new Error("no store");
    const traceContext = {
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      tracestate: "vendor=x",
    };
    await store.create(task("traced", { traceContext }), { who: a, leaseMs: 60_000 });
    const claimed = await store.read("traced");
    expect(claimed?.traceContext).toEqual(traceContext);
    if (!claimed) throw new Error("not stored");
    expect(await store.update({ ...claimed, message: "step 1" }, 60_000)).toMatchObject({
      traceContext,
    });
    await store.create(task("untraced"));
    expect((await store.read("untraced"))?.traceContext).toBeUndefined();
  });

  it("creates a task already claimed by its creator, which nobody else can claim", async () => {
    const [store] = await open();
    if (!store) throw new Error("no store");
    expect(await store.create(task("k1"), { who: a, leaseMs: 60_000 })).toBe(true);
    expect(await store.read("k1")).toMatchObject({
      attempt: 1,
      leaseVersion: 1,
      owner: { instance: "a", boot: "a1" },
    });
    expect(await store.claim("k1", b, { leaseMs: 1000 })).toBeUndefined();
    expect(await store.claimNext(b, 5, { leaseMs: 1000 })).toEqual([]);
    const mine = await store.read("k1");
    if (!mine) throw new Error("gone");
    expect(await store.update({ ...mine, message: "running" }, 60_000)).toMatchObject({
      message: "running",
    });
  });

  it("lists like the reference: newest first, filtered, paged without repeats", async () => {
    const [store] = await open();
    if (!store) throw new Error("no store");
    const states: StoredState[] = ["PENDING", "SUCCEEDED", "FAILED", "CANCELLED", "RUNNING"];
    const all = Array.from({ length: 37 }, (_, i) =>
      task(`job-${String((i * 7) % 37).padStart(2, "0")}`, {
        state: states[i % states.length] ?? "PENDING",
        // Groups of three share a millisecond: ties are ordered by id.
        createdAtMs: base + Math.floor(i / 3) * 10,
      }),
    );
    for (const t of all) await store.create(t);
    const queries: Omit<TaskQuery, "after">[] = [
      { pageSize: 5, states: [] },
      { pageSize: 50, states: [] },
      { pageSize: 4, states: ["SUCCEEDED", "FAILED"] },
      { pageSize: 3, states: [], createdAfterMs: base + 30, createdBeforeMs: base + 90 },
      { pageSize: 7, states: ["PENDING"], createdBeforeMs: base + 100 },
      { pageSize: 2, states: ["CANCELLED"], createdAfterMs: base + 1_000_000 },
    ];
    const ids = (ts: StoredTask[]) => ts.map((t) => t.taskId);
    for (const q of queries) {
      let query: TaskQuery = { ...q };
      for (let pages = 0; pages < 50; pages++) {
        const got = await store.listTasks(query);
        const expected = pageOf(all, query);
        expect(ids(got.tasks), JSON.stringify(query)).toEqual(ids(expected.tasks));
        expect(got.next).toEqual(expected.next);
        if (!got.next) break;
        query = { ...q, after: got.next };
      }
    }
  });

  it("hands each claimable task to exactly one of many concurrent claimants", async () => {
    const handles = await open(4);
    const [first] = handles;
    if (!first) throw new Error("no store");
    for (let i = 0; i < 30; i++) {
      await first.create(task(`c${i}`, { createdAtMs: base + i }));
    }
    const claimedBy = new Map<string, string[]>();
    await Promise.all(
      handles.map(async (store, n) => {
        const who = { instance: `i${n}`, boot: "x" };
        for (;;) {
          const got = await store.claimNext(who, 3, { leaseMs: 60_000 });
          if (got.length === 0) return;
          for (const t of got)
            claimedBy.set(t.taskId, [...(claimedBy.get(t.taskId) ?? []), who.instance]);
        }
      }),
    );
    expect(claimedBy.size).toBe(30);
    for (const owners of claimedBy.values()) expect(owners).toHaveLength(1);
    const one = await first.read("c7");
    expect(one).toMatchObject({ attempt: 1, leaseVersion: 1 });
    expect(one?.owner?.instance).toBe(claimedBy.get("c7")?.[0]);
  });

  it("lets a task be claimed again only after its lease ran out, counting the attempt", async () => {
    const [store] = await open();
    if (!store) throw new Error("no store");
    await store.create(task("l1"));
    const mine = await store.claim("l1", a, { leaseMs: 300 });
    expect(mine).toMatchObject({ attempt: 1, leaseVersion: 1, owner: { instance: "a" } });
    expect(await store.claim("l1", b, { leaseMs: 300 })).toBeUndefined();
    expect(await store.claimNext(b, 5, { leaseMs: 300 })).toEqual([]);
    await sleep(450);
    const theirs = await store.claim("l1", b, { leaseMs: 300 });
    expect(theirs).toMatchObject({ attempt: 2, leaseVersion: 2, owner: { instance: "b" } });
  });

  it("refuses a stale owner's write: a finished task never goes back to running", async () => {
    const [store] = await open();
    if (!store) throw new Error("no store");
    await store.create(task("f1"));
    const stale = await store.claim("f1", a, { leaseMs: 200 });
    if (!stale) throw new Error("not claimed");
    await sleep(300);
    const fresh = await store.claim("f1", b, { leaseMs: 10_000 });
    if (!fresh) throw new Error("not taken over");
    const { owner: _, ...finished } = { ...fresh, state: "SUCCEEDED" as const, output: "by b" };
    expect(await store.update(finished, 10_000)).toMatchObject({ state: "SUCCEEDED" });
    // The paused owner wakes up and writes what it had.
    expect(await store.update({ ...stale, state: "RUNNING", message: "by a" }, 10_000)).toBe(false);
    expect(await store.read("f1")).toMatchObject({ state: "SUCCEEDED", output: "by b" });
    // Nor can it claim a finished task.
    expect(await store.claim("f1", a, { leaseMs: 200 })).toBeUndefined();
  });

  it("renews a lease on each owner's write, and releases it when the owner lets go", async () => {
    const [store] = await open();
    if (!store) throw new Error("no store");
    await store.create(task("r1"));
    const mine = await store.claim("r1", a, { leaseMs: 400 });
    if (!mine) throw new Error("not claimed");
    for (let i = 0; i < 4; i++) {
      await sleep(150);
      expect(await store.update({ ...mine, message: `beat ${i}` }, 400)).not.toBe(false);
    }
    // 600 ms after the claim, with a 400 ms lease: still owned thanks to the renewals.
    expect(await store.claim("r1", b, { leaseMs: 400 })).toBeUndefined();
    const { owner: _, ...released } = mine;
    expect(await store.update(released, 400)).not.toBe(false);
    expect(await store.claim("r1", b, { leaseMs: 400 })).toMatchObject({ attempt: 2 });
  });

  it("lets a restarted instance take back its previous life's tasks at once, only when asked", async () => {
    const [store] = await open();
    if (!store) throw new Error("no store");
    await store.create(task("o1"));
    await store.claim("o1", a, { leaseMs: 60_000 });
    const reborn = { instance: "a", boot: "a2" };
    expect(await store.claimNext(reborn, 5, { leaseMs: 60_000 })).toEqual([]);
    const back = await store.claimNext(reborn, 5, { leaseMs: 60_000, reclaimOwn: true });
    expect(back.map((t) => [t.taskId, t.owner?.boot])).toEqual([["o1", "a2"]]);
  });

  it("records cancellation requests and removes only old finished tasks", async () => {
    const [store] = await open();
    if (!store) throw new Error("no store");
    await store.create(task("x1"));
    await store.create(task("x2"));
    expect(await store.cancelRequest("x1")).toBeUndefined();
    await store.requestCancel("x1", "not needed");
    expect(await store.cancelRequest("x1")).toBe("not needed");
    const claimed = await store.claim("x1", a, { leaseMs: 5000 });
    if (!claimed) throw new Error("not claimed");
    const { owner: _, ...cancelled } = claimed;
    await store.update({ ...cancelled, state: "CANCELLED" }, 5000);
    await sleep(100);
    expect(await store.removeFinished(60_000)).toBe(0);
    expect(await store.removeFinished(50)).toBe(1);
    expect(await store.read("x1")).toBeUndefined();
    expect(await store.read("x2")).toMatchObject({ state: "PENDING" });
  });
});

describe("postgres task store notifications", () => {
  it("wakes an idle instance when a task is created or released elsewhere", async () => {
    const [watcher, other] = await openPostgres(2);
    if (!watcher || !other) throw new Error("no store");
    let wakes = 0;
    watcher.watch(() => wakes++);
    // The first wake comes from connecting (work may have been missed before).
    await expect.poll(() => wakes, { timeout: 10_000 }).toBeGreaterThan(0);
    const before = wakes;
    await other.create(task("n1"));
    await expect.poll(() => wakes, { timeout: 10_000 }).toBeGreaterThan(before);
    const claimed = await other.claim("n1", b, { leaseMs: 60_000 });
    if (!claimed) throw new Error("not claimed");
    const afterClaim = wakes;
    const { owner: _, ...released } = claimed;
    await other.update(released, 60_000);
    await expect.poll(() => wakes, { timeout: 10_000 }).toBeGreaterThan(afterClaim);
  });
});
