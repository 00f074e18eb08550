import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AgentLink } from "../../gen/agentplatform/v1/link_pb";
import { AgentService } from "../../gen/agentplatform/v1/platform_pb";
import { createLogger } from "../../platform/log";
import { eventually } from "../../platform/test-support/eventually";
import { natAgent } from "../../services/nat-agent/nat-agent";
import { defineAgent, sleep } from "../../services/sdk";
import { type DialInAgent, runDialInAgent } from "../../services/sdk/dial-in-agent";
import type { Router } from "../router";
import {
  codeOf,
  grpcTransport,
  startTestRegistry,
  startTestRouter,
  type TestRegistry,
} from "../test-support/cluster";
import { type LinkedAgentsHub, linkedAgentsFactory } from "./linked-agents-hub";
import { ensureLocalAgentToken } from "./local-agent-tokens";

let dir: string;
let reg: TestRegistry;
let router: Router;
let hub: LinkedAgentsHub;
let other: Router;
const agents: DialInAgent[] = [];

/** A TCP relay whose connections the test can cut, to drop a link without either end closing it. */
async function startRelay(target: number) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

// Records the tasks it was told to stop, and streams slowly enough to be interrupted.
const stopped: string[] = [];
const slowAgent = defineAgent({
  name: "slow",
  description: "counts slowly",
  capabilities: ["count"],
  executeTask: () => ({ output: "done" }),
  async *streamTask(request, ctx) {
    try {
      for (let i = 1; i <= 100; i++) {
        await sleep(100, ctx.signal);
        yield { output: String(i), progress: i };
      }
      yield { output: "100", done: true };
    } finally {
      if (ctx.signal.aborted) stopped.push(request.taskId);
    }
  },
});

const dial = (opts: Partial<Parameters<typeof runDialInAgent>[0]> & { agentId: string }) => {
  const a = runDialInAgent({
    routerAddress: router.address,
    token: ensureLocalAgentToken(opts.agentId, dir).token,
    agent: natAgent,
    backoff: { initialMs: 200, maxMs: 1000 },
    // Refused links are logged as errors: expected here, so kept out of the test output.
    logger: createLogger("test", { write: () => {} }),
    ...opts,
  });
  agents.push(a);
  return a;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "agent-link-"));
  for (const id of ["nat-agent", "slow-agent", "solo-agent", "gone-agent"])
    ensureLocalAgentToken(id, dir);
  reg = await startTestRegistry();
  router = await startTestRouter(reg.consul, {
    linkedAgents: (self) => {
      hub = linkedAgentsFactory({
        tokens: { path: join(dir, "agent-link", "tokens") },
        heartbeatIntervalMs: 200,
        registryTtlMs: 3000,
        offlineGraceMs: 1500,
      })(self);
      return hub;
    },
  });
  other = await startTestRouter(reg.consul);
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop()));
});
afterAll(async () => {
  await other.close(100);
  await router.close(100);
  await reg.registry.close();
  rmSync(dir, { recursive: true, force: true });
});

const agentsVia = (address: string) => createClient(AgentService, grpcTransport(address));
const registered = async (service: string) =>
  (await reg.consul.healthService(service)).value.map((e) => ({
    ...e.Service,
    status: e.Checks.find((c) => c.ServiceID === e.Service.ID)?.Status,
  }));

describe("dial-in agents: authentication", () => {
  it("refuses a wrong or missing token with UNAUTHENTICATED and registers nothing", async () => {
    const link = createClient(AgentLink, grpcTransport(router.address));
    async function* hello() {
      yield { message: { case: "hello" as const, value: { agentId: "nat-agent" } } };
      await sleep(2000);
    }
    const attempt = async (headers: Record<string, string>) => {
      for await (const _ of link.connect(hello(), { headers, timeoutMs: 3000 })) {
        // an accepted link would arrive here
      }
    };
    expect(await codeOf(attempt({ agent_id: "nat-agent", agent_token: "not-the-token" }))).toBe(
      Code.Unauthenticated,
    );
    expect(await codeOf(attempt({ agent_id: "nat-agent" }))).toBe(Code.Unauthenticated);
    expect(await codeOf(attempt({ agent_id: "stranger-agent", agent_token: "x" }))).toBe(
      Code.Unauthenticated,
    );

    const states: string[] = [];
    const wrong = dial({
      agentId: "nat-agent",
      token: "wrong",
      onState: (s) => states.push(s.kind === "waiting" ? `waiting:${Code[s.code ?? 0]}` : s.kind),
    });
    await eventually(async () => expect(states).toContain("waiting:Unauthenticated"));
    await hub.registrySettled();
    expect(wrong.linked()).toBe(false);
    expect(hub.linkCount()).toBe(0);
    expect(await registered("agent-nat")).toEqual([]);
  });
});

describe("dial-in agents: tasks through the routers", () => {
  it("registers the link at the router's address and serves tasks from any router", async () => {
    const nat = dial({ agentId: "nat-agent" });
    await nat.ready();
    const entry = await eventually(async () => {
      const [e] = await registered("agent-nat");
      expect(e?.status).toBe("passing");
      return e;
    });
    expect(entry).toMatchObject({
      Port: router.port,
      Tags: ["agent", "dial-in"],
      Meta: { dial_in: "true", router_id: router.routerId, name: "nat", client_id: "nat-agent" },
    });

    const text = "Cats sleep a lot. Cats purr when happy. Dogs bark. Cats and dogs can be friends.";
    for (const via of [router.address, other.address]) {
      const res = await eventually(() =>
        agentsVia(via).executeTask({
          agentId: "nat-agent",
          taskId: `sum-${via}`,
          input: text,
          parameters: { sentences: "1" },
        }),
      );
      expect(res).toMatchObject({ taskId: `sum-${via}`, success: true, done: true });
      expect(res.output).toMatch(/^Cats/);
    }
    const upper = await agentsVia(other.address).executeTask({
      agentId: "nat-agent",
      input: "hi there. bye.",
      parameters: { mode: "uppercase" },
    });
    expect(upper.output).toBe("HI THERE. BYE.");
    // The agent's own error codes reach the caller.
    expect(
      await codeOf(
        agentsVia(router.address).executeTask({
          agentId: "nat-agent",
          input: "x",
          parameters: { mode: "shout" },
        }),
      ),
    ).toBe(Code.InvalidArgument);
  });

  it("streams output incrementally and stops the agent's work when the caller cancels", async () => {
    const slow = dial({ agentId: "slow-agent", agent: slowAgent });
    await slow.ready();
    const abort = new AbortController();
    const seen: { output: string; at: number }[] = [];
    const started = Date.now();
    const call = (async () => {
      for await (const m of agentsVia(router.address).streamTask(
        { agentId: "slow-agent", taskId: "count-1" },
        { signal: abort.signal },
      )) {
        seen.push({ output: m.output, at: Date.now() - started });
        if (seen.length === 3) abort.abort();
      }
    })();
    expect(await codeOf(call)).toBe(Code.Canceled);
    expect(seen.map((s) => s.output)).toEqual(["1", "2", "3"]);
    // Incremental: the messages arrived about 100 ms apart, not all at the end.
    expect((seen[2]?.at ?? 0) - (seen[0]?.at ?? 0)).toBeGreaterThanOrEqual(150);
    await eventually(async () => expect(stopped).toContain("count-1"), 3000);
  });

  it("refuses tasks beyond the agent's concurrency with RESOURCE_EXHAUSTED", async () => {
    const solo = dial({ agentId: "solo-agent", agent: slowAgent, maxConcurrentTasks: 1 });
    await solo.ready();
    const abort = new AbortController();
    const first = (async () => {
      for await (const _ of agentsVia(router.address).streamTask(
        { agentId: "solo-agent" },
        { signal: abort.signal },
      )) {
        // keeps the only slot busy
      }
    })().catch(() => {});
    await eventually(async () =>
      expect(hub.links().find((l) => l.agentId === "solo-agent")?.inFlight).toBe(1),
    );
    expect(
      await codeOf(agentsVia(router.address).executeTask({ agentId: "solo-agent", input: "x" })),
    ).toBe(Code.ResourceExhausted);
    abort.abort();
    await first;
  });
});

describe("dial-in agents: failures", () => {
  it("fails an in-flight task fast with UNAVAILABLE when the link drops, and the agent comes back", async () => {
    const relay = await startRelay(router.port);
    try {
      const slow = dial({ agentId: "slow-agent", agent: slowAgent, routerAddress: relay.address });
      await slow.ready();
      const before = slow.linksMade();
      const seen: string[] = [];
      let cutAt = 0;
      const call = (async () => {
        for await (const m of agentsVia(router.address).streamTask({ agentId: "slow-agent" })) {
          seen.push(m.output);
          if (seen.length === 2) {
            cutAt = Date.now();
            relay.cut();
          }
        }
      })();
      expect(await codeOf(call)).toBe(Code.Unavailable);
      const failedAfterMs = Date.now() - cutAt;
      // Heartbeats every 200 ms notice the dead link long before any TCP timeout (minutes); the
      // bound only catches a link that is never noticed.
      expect(failedAfterMs).toBeLessThan(20_000);
      await eventually(async () => expect(slow.linksMade()).toBeGreaterThan(before), 5000);
      const res = await eventually(() =>
        agentsVia(router.address).executeTask({ agentId: "slow-agent", input: "again" }),
      );
      expect(res.output).toBe("done");
    } finally {
      await relay.close();
    }
  });

  it("turns the registry check critical when the last link goes, then deregisters", async () => {
    const gone = dial({ agentId: "gone-agent" });
    await gone.ready();
    await eventually(async () =>
      expect((await registered("agent-gone"))[0]?.status).toBe("passing"),
    );
    await gone.stop();
    await eventually(
      async () => expect((await registered("agent-gone"))[0]?.status).toBe("critical"),
      3000,
    );
    await eventually(async () => expect(await registered("agent-gone")).toEqual([]), 5000);
    expect(
      await codeOf(agentsVia(other.address).executeTask({ agentId: "gone-agent", input: "x" })),
    ).not.toBe("ok");
  });

  it("closes the link of an agent whose token is removed from the file", async () => {
    const tokensFile = join(dir, "agent-link", "tokens");
    const original = readFileSync(tokensFile, "utf8");
    const states: string[] = [];
    const nat = dial({
      agentId: "nat-agent",
      onState: (s) => states.push(s.kind === "waiting" ? `waiting:${Code[s.code ?? 0]}` : s.kind),
    });
    await nat.ready();
    try {
      writeFileSync(
        tokensFile,
        original
          .split("\n")
          .filter((l) => !l.startsWith("nat-agent "))
          .join("\n"),
      );
      await eventually(async () => expect(states).toContain("waiting:Unauthenticated"), 5000);
      expect(nat.linked()).toBe(false);
    } finally {
      writeFileSync(tokensFile, original);
    }
  });
});
