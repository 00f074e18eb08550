import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../test-support/eventually";
import { createConsulClient } from "./consul-client";
import type { ServiceEntry } from "./consul-types";
import { nextIndex, type ServiceSnapshot, type ServiceWatch, watchService } from "./service-watch";

/** One request the fake registry received: the ?index it carried (0 when absent) and when. */
interface Seen {
  index: number;
  at: number;
}

type Reply = (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void;

/** A deliberately misbehaving registry: every answer is crafted by the test. */
async function fakeRegistry(reply: Reply, port = 0) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const entry = { index: Number(url.searchParams.get("index") ?? "0"), at: Date.now() };
    seen.push(entry);
    reply(req, res, entry);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  cleanups.push(stop);
  return { seen, address, port: (server.address() as AddressInfo).port, stop };
}

function entries(...ports: number[]): ServiceEntry[] {
  return ports.map((port) => ({
    Node: { ID: "n", Node: "n", Address: "127.0.0.1", Datacenter: "dc1" },
    Service: { ID: `svc-${port}`, Service: "svc", Tags: [], Address: "", Port: port, Meta: {} },
    Checks: [],
  }));
}

function answer(res: http.ServerResponse, index: number, body: ServiceEntry[]) {
  res.writeHead(200, { "Content-Type": "application/json", "X-Consul-Index": String(index) });
  res.end(JSON.stringify(body));
}

const cleanups: (() => Promise<void> | void)[] = [];
let watch: ServiceWatch | undefined;
afterEach(async () => {
  watch?.stop();
  watch = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("nextIndex", () => {
  it("follows Consul's rules", () => {
    expect(nextIndex(0, 7)).toBe(7);
    expect(nextIndex(7, 9)).toBe(9);
    expect(nextIndex(9, 4)).toBe(0);
    expect(nextIndex(9, 0)).toBe(1);
    expect(nextIndex(0, Number.NaN)).toBe(1);
  });
});

describe("watchService against a misbehaving registry", () => {
  it("starts over from index 0 when the index goes backwards", async () => {
    const script = [100, 50, 60];
    const fake = await fakeRegistry((_req, res, seen) => {
      const next = script.shift();
      if (next === undefined) return void setTimeout(() => answer(res, 60, entries(1)), 5000);
      answer(res, next, entries(seen.index === 0 ? 1 : 2));
    });
    watch = watchService(createConsulClient({ address: fake.address }), "svc", {
      minIntervalMs: 10,
    });
    await eventually(() => fake.seen.length >= 4, { what: "four queries" });
    expect(fake.seen.slice(0, 4).map((s) => s.index)).toEqual([0, 100, 0, 60]);
  });

  it("does not hot-loop when the registry answers index 0 at once", async () => {
    const fake = await fakeRegistry((_req, res) => answer(res, 0, entries(1)));
    watch = watchService(createConsulClient({ address: fake.address }), "svc", {
      minIntervalMs: 100,
    });
    await eventually(() => fake.seen.length >= 6, { what: "six queries" });
    // One query per 100 ms floor, never a hot loop: six queries span about 500 ms, not a few.
    // (Arrival times jitter on a loaded machine, so single gaps can be shorter; the span cannot.)
    const span = (fake.seen[5]?.at ?? 0) - (fake.seen[0]?.at ?? 0);
    expect(span).toBeGreaterThanOrEqual(300);
    // After an answer of 0 the watch still asks to block (index 1), as Consul advises.
    expect(fake.seen.slice(1).every((s) => s.index === 1)).toBe(true);
    expect(watch.current().instances.map((i) => i.port)).toEqual([1]);
  });

  it("rate limits a flood of changes to one query per minIntervalMs", async () => {
    let index = 1;
    let answered = 0;
    let frozen = false;
    const fake = await fakeRegistry((_req, res) => {
      // Once frozen, queries hang like blocking queries with nothing new: the count settles.
      if (frozen) return;
      index++;
      answered++;
      answer(res, index, entries(index));
    });
    watch = watchService(createConsulClient({ address: fake.address }), "svc", {
      minIntervalMs: 200,
    });
    const snapshots: ServiceSnapshot[] = [];
    watch.subscribe((s) => snapshots.push(s));
    await eventually(() => answered >= 4, { what: "four answers" });
    frozen = true;
    // The count settles: the watch has asked once more and that query hangs.
    await eventually(() => fake.seen.length === answered + 1 && snapshots.length === answered, {
      what: "the next query to hang",
    });
    // At most one query per 200 ms: n queries span at least (n - 1) x 200 ms, less arrival jitter.
    const span = (fake.seen.at(-1)?.at ?? 0) - (fake.seen[0]?.at ?? 0);
    expect(span).toBeGreaterThanOrEqual((fake.seen.length - 1) * 200 - 150);
    // Every answer was seen and the view is the latest one.
    expect(watch.current().instances.map((i) => i.port)).toEqual([index]);
    expect(snapshots.length).toBe(answered);
  });

  it("keeps the last known set marked stale while unreachable, and clears stale on recovery", async () => {
    const first = await fakeRegistry((_req, res, seen) => {
      if (seen.index === 0) return answer(res, 5, entries(50052, 50062));
      // Blocking queries hang until the registry goes away.
    });
    const consul = createConsulClient({ address: first.address });
    watch = watchService(consul, "svc", { minIntervalMs: 10, maxBackoffMs: 200 });
    await watch.ready();
    expect(watch.current()).toMatchObject({ stale: false, index: 5 });

    await first.stop();
    const stale = await eventually(() => (watch?.current().stale ? watch.current() : false), {
      what: "stale snapshot",
    });
    expect(stale.instances.map((i) => i.port)).toEqual([50052, 50062]);
    expect(stale.error).toContain("unreachable");
    await sleep(300);
    expect(watch.current().instances.map((i) => i.port)).toEqual([50052, 50062]);

    // The registry comes back on the same address with a new view.
    await fakeRegistry((_req, res, seen) => {
      if (seen.index === 0) return answer(res, 9, entries(50052));
    }, first.port);
    const fresh = await eventually(
      () => (watch === undefined || watch.current().stale ? false : watch.current()),
      {
        what: "recovery",
      },
    );
    expect(fresh.error).toBeUndefined();
    expect(fresh.instances.map((i) => i.port)).toEqual([50052]);
    expect(fresh.refreshedAt).toBeGreaterThan(stale.refreshedAt);
  });

  it("refresh() re-reads without blocking, even when called between queries", async () => {
    const fake = await fakeRegistry((_req, res, seen) => {
      if (seen.index === 0) return answer(res, 3, entries(fake.seen.length));
      // Blocking queries hang: only a refresh gets a new answer.
    });
    watch = watchService(createConsulClient({ address: fake.address }), "svc", {
      minIntervalMs: 400,
    });
    await watch.ready();
    // Called while the watch waits out its floor after the first answer.
    watch.refresh();
    await eventually(() => fake.seen.length >= 2, { what: "second query" });
    expect(fake.seen[1]?.index).toBe(0);
    expect((fake.seen[1]?.at ?? 0) - (fake.seen[0]?.at ?? 0)).toBeGreaterThanOrEqual(350);
    await eventually(() => fake.seen.length >= 3, { what: "blocking query" });
    expect(fake.seen[2]?.index).toBe(3);

    // Called during a blocked query: it is abandoned and the current answer read.
    watch.refresh();
    await eventually(() => fake.seen.length >= 4, { timeoutMs: 3000, what: "refresh query" });
    expect(fake.seen[3]?.index).toBe(0);
    await eventually(() => watch?.current().instances[0]?.port === 4, { what: "fresh answer" });
  });
});

describe("watchService against a registry that restarts without its state", () => {
  it("holds the last known set against an empty answer after an outage, until instances come back", async () => {
    // index 0: two instances; then one failure (the restart); then an empty registry at a low
    // index; later the instances re-register.
    let phase: "up" | "down" | "empty" | "back" = "up";
    const fake = await fakeRegistry((_req, res, seen) => {
      if (phase === "up") {
        if (seen.index === 0) return answer(res, 40, entries(1, 2));
        phase = "down";
        res.writeHead(500);
        return res.end("restarting");
      }
      if (phase === "down") phase = "empty";
      if (phase === "empty") {
        // Blocking queries on the empty registry hang until the instances are back.
        if (seen.index === 0) return answer(res, 2, []);
        return;
      }
      answer(res, 3, entries(2));
    });
    watch = watchService(createConsulClient({ address: fake.address }), "svc", {
      minIntervalMs: 10,
      maxBackoffMs: 100,
      emptyGraceMs: 30_000,
    });
    const held = await eventually(
      () => (watch?.current().heldSince !== undefined ? watch.current() : false),
      { what: "held view" },
    );
    expect(held.instances.map((i) => i.port)).toEqual([1, 2]);
    expect(held.stale).toBe(true);
    expect(held.error).toBeUndefined();

    phase = "back";
    watch.refresh();
    const fresh = await eventually(
      () => (watch?.current().instances.length === 1 ? watch.current() : false),
      { what: "re-registered view" },
    );
    expect(fresh.heldSince).toBeUndefined();
    expect(fresh.stale).toBe(false);
  });

  it("believes the empty answer once the grace period passes", async () => {
    let failed = false;
    let empty = false;
    const fake = await fakeRegistry((_req, res, seen) => {
      if (!failed && seen.index !== 0) {
        failed = true;
        res.writeHead(500);
        return res.end("restarting");
      }
      if (seen.index === 0) return answer(res, empty ? 2 : 40, empty ? [] : entries(1));
    });
    watch = watchService(createConsulClient({ address: fake.address }), "svc", {
      minIntervalMs: 10,
      maxBackoffMs: 100,
      emptyGraceMs: 400,
    });
    await watch.ready();
    empty = true;
    await eventually(() => watch?.current().heldSince !== undefined, { what: "held view" });
    const gone = await eventually(
      () => (watch?.current().instances.length === 0 ? watch.current() : false),
      { what: "empty view after the grace period" },
    );
    expect(gone.heldSince).toBeUndefined();
  });

  it("takes an empty answer at once when the registry stayed up and its index moved on", async () => {
    let version = 0;
    const fake = await fakeRegistry((_req, res, seen) => {
      if (seen.index === 0) return answer(res, 10, entries(1));
      if (version === 1) return answer(res, 11, []);
    });
    watch = watchService(createConsulClient({ address: fake.address }), "svc", {
      minIntervalMs: 10,
      emptyGraceMs: 30_000,
    });
    await watch.ready();
    version = 1;
    watch.refresh();
    await eventually(() => fake.seen.length >= 3, { what: "a query after the refresh" });
    // The refresh asked index 0 (answers 10 with one instance); the next blocking one gets [].
    const emptied = await eventually(
      () => (watch?.current().instances.length === 0 ? watch.current() : false),
      { what: "empty view" },
    );
    expect(emptied.heldSince).toBeUndefined();
    expect(emptied.stale).toBe(false);
  });
});
