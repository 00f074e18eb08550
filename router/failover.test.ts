import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { AgentService, ServingState, TaskWorker } from "../gen/agentplatform/v1/platform_pb";
import { eventually } from "../platform/test-support/eventually";
import type { Router } from "./router";
import {
  grpcTransport,
  startTestRegistry,
  startTestRouter,
  type TestRegistry,
  waitRoutable,
} from "./test-support/cluster";
import { type EchoBackend, startEchoBackend } from "./test-support/echo-backend";

let registry: TestRegistry | undefined;
let router: Router | undefined;
let backends: EchoBackend[] = [];

afterEach(async () => {
  await router?.close(200);
  for (const b of backends) await b.stop("hard");
  await registry?.registry.close();
  router = undefined;
  registry = undefined;
  backends = [];
});

/** Runs `call` from `workers` loops until `stop()` says so; returns counts and failures. */
function steadyLoad(workers: number, call: (n: number) => Promise<void>) {
  let stop = false;
  const failures: string[] = [];
  let ok = 0;
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; !stop && i < 20_000; i++) {
      try {
        await call(w * 100_000 + i);
        ok++;
      } catch (err) {
        failures.push(ConnectError.from(err).message);
      }
    }
  });
  return {
    ok: () => ok,
    failures,
    async stop() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

describe("router failover", () => {
  it("loses no call when 1 of 3 agents stops under load (GOAWAY, then refused connections)", async () => {
    registry = await startTestRegistry();
    const consul = registry.consul;
    backends = await Promise.all([0, 1, 2].map(() => startEchoBackend({ consul })));
    router = await startTestRouter(consul);
    await waitRoutable(router.address);
    const client = createClient(AgentService, grpcTransport(router.address));
    const load = steadyLoad(6, async (i) => {
      const res = await client.executeTask(
        { agentId: "echo-agent", input: `${i}` },
        { timeoutMs: 5000 },
      );
      if (res.output !== `Echo: ${i}`) throw new Error(`wrong answer ${res.output}`);
    });
    await eventually(async () => expect(load.ok()).toBeGreaterThan(150));
    const victim = backends[0] as EchoBackend;
    await victim.stop("graceful");
    const at = load.ok();
    await eventually(async () => expect(load.ok()).toBeGreaterThan(at + 300));
    await load.stop();
    expect(load.failures).toEqual([]);
    // The stopped instance is out of rotation: recent calls all went to the other two.
    const before = victim.calls;
    for (let i = 0; i < 20; i++) await client.executeTask({ agentId: "echo-agent", input: "x" });
    expect(victim.calls).toBe(before);
  });

  it("retries idempotent calls on another worker when one is killed mid-call", async () => {
    registry = await startTestRegistry();
    const consul = registry.consul;
    backends = await Promise.all(
      [0, 1, 2].map(() => startEchoBackend({ consul, service: "worker-itinerary" })),
    );
    router = await startTestRouter(consul);
    const tasks = createClient(TaskWorker, grpcTransport(router.address));
    await eventually(() => tasks.getTaskStatus({ workerId: "itinerary-worker", taskId: "t" }));
    const load = steadyLoad(6, async (i) => {
      const res = await tasks.getTaskStatus(
        { workerId: "itinerary-worker", taskId: `t${i}` },
        { timeoutMs: 5000 },
      );
      if (res.taskId !== `t${i}`) throw new Error(`wrong answer ${res.taskId}`);
    });
    await eventually(async () => expect(load.ok()).toBeGreaterThan(150));
    await (backends[1] as EchoBackend).stop("hard");
    const at = load.ok();
    await eventually(async () => expect(load.ok()).toBeGreaterThan(at + 300));
    await load.stop();
    expect(load.failures).toEqual([]);
  });

  it("keeps routing on the cached set while the registry is down, and says it is stale", async () => {
    registry = await startTestRegistry();
    const consul = registry.consul;
    backends = [await startEchoBackend({ consul })];
    router = await startTestRouter(consul);
    await waitRoutable(router.address);
    const client = createClient(AgentService, grpcTransport(router.address));
    await registry.registry.close();
    await eventually(async () => {
      const status = await client.getStatus({});
      expect(status.backends.find((b) => b.service === "agent-echo")?.stale).toBe(true);
      expect(status.state).toBe(ServingState.DEGRADED);
    });
    for (let i = 0; i < 50; i++) {
      const res = await client.executeTask({ agentId: "echo-agent", input: `cached ${i}` });
      expect(res.output).toBe(`Echo: cached ${i}`);
    }
    // A service never seen before cannot be resolved without the registry.
    const err = await client
      .executeTask({ agentId: "new-agent", input: "x" })
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.Unavailable);
  });
});
