// haproxy/haproxy.cfg with the real haproxy binary in front of three real routers (separate
// processes), a registry and an echo backend, under steady gRPC load.
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../platform/test-support/eventually";
import { startTestRegistry, type TestRegistry, waitRoutable } from "../router/test-support/cluster";
import { type EchoBackend, startEchoBackend } from "../router/test-support/echo-backend";
import { failureSummary, failures, startLoad } from "./fixtures/grpc-load";
import { type RunningHaproxy, startLoopbackHaproxy } from "./fixtures/haproxy";
import { type Child, freePorts, startTsChild } from "./fixtures/processes";

const names = ["router-a", "router-b", "router-c"] as const;
let registry: TestRegistry;
let echo: EchoBackend;
let haproxy: RunningHaproxy;
const routers = new Map<string, Child>();
const routerPorts = new Map<string, number>();
const stopped = new Set<string>();

/** Starts every router that is not running (all of them at first) and waits until each answers. */
async function startRouters(): Promise<void> {
  const starting = names.filter((name) => !routers.has(name) || stopped.has(name));
  for (const name of starting) {
    const child = startTsChild("deploy/fixtures/router-process.ts", {
      CONSUL_HTTP_ADDR: registry.registry.address,
      ROUTER_PORT: String(routerPorts.get(name)),
    });
    routers.set(name, child);
    stopped.delete(name);
    void child.exited.then(() => stopped.add(name));
  }
  await Promise.all(starting.map((name) => routers.get(name)?.waitForLine(/^listening \d+/)));
  // Each router answers a first call directly before HAProxy sends it load.
  await Promise.all(starting.map((name) => waitRoutable(`127.0.0.1:${routerPorts.get(name)}`)));
}

beforeAll(async () => {
  registry = await startTestRegistry();
  echo = await startEchoBackend({ consul: registry.consul });
  const [front = 0, stats = 0, ...ports] = await freePorts(2 + names.length);
  names.forEach((name, i) => {
    routerPorts.set(name, ports[i] ?? 0);
  });
  await startRouters();
  haproxy = await startLoopbackHaproxy({
    frontendPort: front,
    statsPort: stats,
    servers: Object.fromEntries(names.map((n) => [n, `127.0.0.1:${routerPorts.get(n)}`])),
  });
}, 30_000);

// Each test starts with all three routers running and UP: a router the test before stopped is
// started again on its port, so killing one always leaves two.
beforeEach(async () => {
  await startRouters();
  // Every router must pass the gRPC health check (rise 2, inter 2s) before load starts.
  await eventually(
    async () => Object.values(await haproxy.serverStatus()).every((s) => s === "UP"),
    { what: "all routers UP in HAProxy", timeoutMs: 30_000 },
  );
}, 60_000);

afterAll(async () => {
  await haproxy?.stop();
  for (const r of routers.values()) await r.stop("SIGKILL");
  await echo?.stop("hard");
  await registry?.registry.close();
});

describe("HAProxy TCP front door (haproxy/haproxy.cfg)", () => {
  it("marks a router DOWN by gRPC health while it drains, and no call fails", async () => {
    const load = startLoad({ address: haproxy.frontend, clients: 6, maxDurationMs: 60_000 });
    // Round robin per connection: six client connections reach all three routers.
    await eventually(async () => {
      const sessions = await haproxy.serverSessions();
      for (const name of names) expect(sessions[name]).toBeGreaterThan(0);
    });

    const draining = routers.get("router-a");
    if (!draining) throw new Error("router-a missing");
    await draining.stop("SIGTERM");
    const exitedAt = performance.now();
    await eventually(
      async () => (await haproxy.serverStatus())["router-a"]?.startsWith("DOWN") ?? false,
      { what: "router-a DOWN in HAProxy" },
    );
    await eventually(() => load.records.filter((r) => r.start > exitedAt).length > 50, {
      what: "50 calls after router-a left",
    });
    const records = await load.stop();
    expect(failureSummary(records)).toBe("0 failed");
    expect(records.filter((r) => r.start > exitedAt).length).toBeGreaterThan(50);
  });

  it("after a router is killed, failures are only calls in flight on it and stop before it is marked DOWN", async () => {
    const load = startLoad({ address: haproxy.frontend, clients: 6, maxDurationMs: 60_000 });
    await eventually(() => load.records.length > 50, { what: "the load to run" });
    const victim = routers.get("router-b");
    if (!victim) throw new Error("router-b missing");
    const killedAt = performance.now();
    await victim.stop("SIGKILL");
    await eventually(
      async () => (await haproxy.serverStatus())["router-b"]?.startsWith("DOWN") ?? false,
      { what: "router-b DOWN in HAProxy" },
    );
    const downAt = performance.now();
    await eventually(() => load.records.filter((r) => r.start > downAt).length > 50, {
      what: "50 calls after router-b is DOWN",
    });
    const records = await load.stop();

    const failed = failures(records);
    // The check (inter 2s, fall 2) needs two failed probes: DOWN about 4 s after the kill. The
    // bound only catches a check that never fires.
    expect(downAt - killedAt).toBeLessThan(30_000);
    // Calls on the connections the kill broke fail; new connections are redispatched at once.
    expect(failed.length, failureSummary(records)).toBeLessThanOrEqual(12);
    for (const f of failed) {
      expect([Code.Unavailable, Code.Aborted, Code.Canceled]).toContain(f.code);
      expect(f.end).toBeLessThan(downAt);
    }
    const afterDown = records.filter((r) => r.start > downAt);
    expect(afterDown.length).toBeGreaterThan(50);
    expect(failureSummary(afterDown)).toBe("0 failed");
  });
});
