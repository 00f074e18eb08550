import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../platform/log";
import { eventually } from "../../platform/test-support/eventually";
import { natAgent } from "../../services/nat-agent/nat-agent";
import { type DialInAgent, runDialInAgent } from "../../services/sdk/dial-in-agent";
import type { Router } from "../router";
import { startTestRegistry, startTestRouter, type TestRegistry } from "../test-support/cluster";
import { type LinkedAgentsHub, linkedAgentsFactory } from "./linked-agents-hub";
import { ensureLocalAgentToken } from "./local-agent-tokens";

const count = 200;
const silent = createLogger("test", { write: () => {} });
let dir: string;
let reg: TestRegistry;
let router: Router;
let hub: LinkedAgentsHub;
const agents: DialInAgent[] = [];
/** When each agent's links came up, in ms since the epoch. */
const linkedAt: number[][] = Array.from({ length: count }, () => []);

const startRouterOn = (port: number) =>
  startTestRouter(reg.consul, {
    port,
    linkedAgents: (self) => {
      hub = linkedAgentsFactory({
        tokens: { path: join(dir, "agent-link", "tokens") },
        heartbeatIntervalMs: 1000,
        registryTtlMs: 30_000,
      })(self);
      return hub;
    },
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "agent-link-storm-"));
  reg = await startTestRegistry();
  router = await startRouterOn(0);
  for (let i = 0; i < count; i++) {
    const agentId = `storm${i}-agent`;
    agents.push(
      runDialInAgent({
        routerAddress: router.address,
        agentId,
        token: ensureLocalAgentToken(agentId, dir).token,
        agent: natAgent,
        backoff: { initialMs: 250, maxMs: 4000 },
        logger: silent,
        onState: (s) => {
          if (s.kind === "linked") linkedAt[i]?.push(Date.now());
        },
      }),
    );
  }
});
afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await router.close(100);
  await reg.registry.close();
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe("dial-in agents after a router restart", () => {
  it(`brings all ${count} agents back, spread over time rather than in one burst`, async () => {
    const t0 = Date.now();
    await eventually(async () => expect(hub.linkCount()).toBe(count), 15_000);
    const firstLinkedMs = Date.now() - t0;
    const port = router.port;
    await router.close(100);
    const downAt = Date.now();
    // An outage of a second (the scenario, not a wait for something): every agent fails at least
    // once and backs off.
    await new Promise((r) => setTimeout(r, 1000));
    const restartAt = Date.now();
    router = await startRouterOn(port);
    const startMs = Date.now() - restartAt;

    const backAt = () => linkedAt.map((times) => times.find((t) => t > downAt) ?? Number.NaN);
    // The router counts a link when it sends its acceptance; the agent notes it on arrival.
    await eventually(async () => {
      expect(hub.linkCount()).toBe(count);
      expect(backAt().filter((t) => !Number.isFinite(t)).length).toBe(0);
    }, 20_000);
    const back = backAt();
    const offsets = back.map((t) => t - restartAt).sort((a, b) => a - b);
    const spreadMs = (offsets.at(-1) ?? 0) - (offsets[0] ?? 0);
    let busiest = 0;
    for (let i = 0, j = 0; i < offsets.length; i++) {
      while ((offsets[i] ?? 0) - (offsets[j] ?? 0) > 100) j++;
      busiest = Math.max(busiest, i - j + 1);
    }
    const p = (q: number) => offsets[Math.min(offsets.length - 1, Math.floor(q * offsets.length))];
    console.log(
      `all linked at start in ${firstLinkedMs} ms; router restart took ${startMs} ms; reconnect after restart: first ${offsets[0]} ms, p50 ${p(0.5)} ms, p90 ${p(0.9)} ms, last ${offsets.at(-1)} ms, spread ${spreadMs} ms, busiest 100 ms window ${busiest}/${count}`,
    );
    // Full jitter: the agents return over a window of backoff size, not all in the same instant.
    expect(spreadMs).toBeGreaterThan(500);
    expect(busiest).toBeLessThan(count / 2);
    // Every agent is registered again, at the restarted router.
    await hub.registrySettled();
    const services = await reg.consul.catalogServices();
    expect(Object.keys(services.value).filter((s) => s.startsWith("agent-storm")).length).toBe(
      count,
    );
  }, 30_000);
});
