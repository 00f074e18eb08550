// Faults an operator meets, injected into real processes under steady load through the front
// door: what callers see must stay what docs/ROUTER.md promises.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CallResult,
  type ProcessCluster,
  startProcessCluster,
  steadyLoad,
  summarise,
  until,
} from "./test-support/process-cluster";

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
});
