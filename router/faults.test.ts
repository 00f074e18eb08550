// Faults an operator meets, injected into real processes under steady load through the front
// door: what callers see must stay what docs/ROUTER.md promises.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CallResult,
  Code,
  type ProcessCluster,
  startProcessCluster,
  steadyLoad,
  summarise,
  until,
} from "./test-support/process-cluster";
import { rawBurst } from "./test-support/raw-burst";

let cluster: ProcessCluster;

beforeAll(async () => {
  cluster = await startProcessCluster({ echoes: 3, routers: 2 });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

const failed = (results: readonly CallResult[]) => results.filter((r) => r.code !== "ok");

describe("under steady load through the front door", () => {
  it("a registry SIGKILL and restart (empty, as the embedded registry or a stateless Consul comes back) fails no call", async () => {
    // Deadlines long enough that a machine shared with other work cannot fail calls on its own:
    // what a registry restart used to cause (UNAVAILABLE "no healthy router", NOT_FOUND for a
    // known agent) comes at once, whatever the deadline.
    const load = steadyLoad({
      address: cluster.frontDoorAddress,
      rate: 50,
      durationMs: 9000,
      timeoutMs: 10_000,
    });
    await new Promise((r) => setTimeout(r, 1500));
    cluster.signal("registry", "SIGKILL");
    await new Promise((r) => setTimeout(r, 1500));
    await cluster.restart("registry");
    // Every instance registers itself again, without any restart of its own.
    await until(
      "echo agents and routers registered again",
      async () => {
        return (
          (await cluster.passing("agent-echo")) === 3 &&
          (await cluster.passing("grpc-router")) === 2
        );
      },
      20_000,
    );
    const results = await load;
    expect(failed(results), summarise(results)).toEqual([]);
    // Calls kept flowing all along (the loop keeps a steady pace even on a loaded machine).
    expect(results.length).toBeGreaterThan(200);
  }, 60_000);

  it("a frozen echo agent (SIGSTOP: TCP open, nothing answers) is taken out of rotation by the routers, failing at most the calls stuck on it", async () => {
    const frozen = cluster.echoAddress("echo-2");
    const load = steadyLoad({
      address: cluster.frontDoorAddress,
      rate: 50,
      durationMs: 8000,
      timeoutMs: 10_000,
    });
    await new Promise((r) => setTimeout(r, 1500));
    const stoppedAt = performance.now();
    cluster.signal("echo-2", "SIGSTOP");
    const ejected = new RegExp(
      `router-\\d\\| .*taken out of rotation.*backend=${frozen.replace(/\./g, "\\.")}`,
    );
    try {
      await until(
        "a router to take the frozen instance out of rotation",
        () => cluster.lineSeen(ejected, stoppedAt) !== undefined,
        15_000,
      );
      const results = await load;
      const ejectedAt = cluster.lineSeen(ejected, stoppedAt) ?? Number.POSITIVE_INFINITY;
      // How soon is a figure (docs/ROUTER.md: 1.2 s after the freeze), not asserted here. Left to
      // the registry's own check (2 s interval, 2 s timeout) or to deadlines (10 s), dozens of
      // calls would be stuck on it, far more than the bound below.
      const bad = failed(results);
      // Only calls already on the frozen instance fail (UNAVAILABLE once its connection is
      // given up); calls sent after it was taken out of rotation all succeed.
      expect(bad.length, summarise(results)).toBeLessThanOrEqual(6);
      expect(
        bad.filter((r) => r.startedAt > ejectedAt + 500),
        summarise(results),
      ).toEqual([]);
    } finally {
      cluster.signal("echo-2", "SIGCONT");
    }
  }, 60_000);
});

describe("a burst past capacity through the front door", () => {
  it("is refused early with retry advice: every call completes or is refused, few run out of time", async () => {
    const refusedBefore = await cluster.routersSum("router_overload_refusals_total");
    // 2,000 calls at once with 1 s deadlines: more than 3 echo agents finish in a second here.
    const answers = await rawBurst(cluster.frontDoorAddress, 2000, 1000);
    const refusedByRouters =
      (await cluster.routersSum("router_overload_refusals_total")) - refusedBefore;
    const ok = answers.filter((a) => a.code === 0);
    const refused = answers.filter((a) => a.pushbackMs !== undefined);
    const expired = answers.filter((a) => a.code === Code.DeadlineExceeded);
    const figures = `${ok.length} completed, ${refused.length} refused with pushback, ${expired.length} DEADLINE_EXCEEDED`;
    console.log(`burst of 2000, 1 s deadlines: ${figures}`);
    expect(refused.length, figures).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.code).toBe(Code.Unavailable);
      expect(r.message).toContain("overloaded");
    }
    // Refused early, not timed out late: without overload control nearly every call here ends
    // DEADLINE_EXCEEDED. A call kept waiting can still run out of time if the machine slows
    // after it was kept, so a few may.
    expect(expired.length, figures).toBeLessThan(refused.length);
    expect(ok.length, figures).toBeGreaterThan(0);
    // Nothing else: no reset, no other code.
    const other = answers.filter(
      (a) => a.code !== 0 && a.pushbackMs === undefined && a.code !== Code.DeadlineExceeded,
    );
    expect(other, figures).toEqual([]);
    // The routers count each refusal a caller got; a refusal that reached the caller after its
    // own timer shows there as DEADLINE_EXCEEDED instead.
    expect(refusedByRouters).toBeGreaterThanOrEqual(refused.length);
    expect(refusedByRouters).toBeLessThanOrEqual(refused.length + expired.length);
  }, 60_000);
});
