import { createClient, createContextValues } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { AgentService } from "../gen/agentplatform/v1/platform_pb";
import type { Router } from "../router/router";
import {
  startTestRegistry,
  startTestRouter,
  type TestRegistry,
  waitRoutable,
} from "../router/test-support/cluster";
import { type EchoBackend, startEchoBackend } from "../router/test-support/echo-backend";
import { EnvReader } from "./config";
import { createDiscoveryFromConfig, readDiscoveryConfig } from "./discovery/discovery-config";
import {
  type LoopbackDnsServer,
  startLoopbackDnsServer,
} from "./discovery/test-support/loopback-dns-server";
import { chosenRouterKey, createRouterTransport, type RouterTransport } from "./router-transport";
import { eventually } from "./test-support/eventually";

let registry: TestRegistry | undefined;
let backend: EchoBackend | undefined;
let routers: Router[] = [];
let transport: RouterTransport | undefined;
let dns: LoopbackDnsServer | undefined;

afterEach(async () => {
  transport?.close();
  for (const r of routers) await r.close(100);
  await backend?.stop("hard");
  await registry?.registry.close();
  await dns?.close();
  transport = undefined;
  backend = undefined;
  routers = [];
  registry = undefined;
  dns = undefined;
});

async function cluster(routerCount: number, register: boolean) {
  registry = await startTestRegistry();
  backend = await startEchoBackend({ consul: registry.consul });
  for (let i = 0; i < routerCount; i++) {
    routers.push(await startTestRouter(registry.consul, { register }));
  }
  for (const r of routers) await waitRoutable(r.address);
  return { consul: registry.consul, routers };
}

function discoveryFrom(env: Record<string, string>, consul = registry?.consul) {
  const reader = new EnvReader(env);
  const config = readDiscoveryConfig(reader);
  reader.done("test");
  return createDiscoveryFromConfig(config, consul);
}

/**
 * Unary and server-streaming calls from `workers` loops, as the gateway makes them, until stopped
 * (at most 5000 calls per loop). Failures are kept with their message.
 */
function steadyLoad(client: ReturnType<typeof createClient<typeof AgentService>>, workers: number) {
  let stop = false;
  const failures: string[] = [];
  let ok = 0;
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; !stop && i < 5000; i++) {
      try {
        if (i % 5 === 4) {
          let messages = 0;
          for await (const _ of client.streamTask(
            { agentId: "echo-agent", input: "s", parameters: { count: "2" } },
            { timeoutMs: 5000 },
          )) {
            messages++;
          }
          if (messages !== 2) failures.push(`stream ended after ${messages} messages`);
          else ok++;
        } else {
          const res = await client.executeTask(
            { agentId: "echo-agent", input: `${w}-${i}` },
            { timeoutMs: 5000 },
          );
          if (res.output !== `Echo: ${w}-${i}`) failures.push(`wrong answer ${res.output}`);
          else ok++;
        }
      } catch (err) {
        failures.push(String(err));
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

async function waitCalls(load: { ok(): number }, more: number) {
  const target = load.ok() + more;
  await eventually(async () => expect(load.ok()).toBeGreaterThanOrEqual(target), 15_000);
}

describe("router transport: a router draining under load", () => {
  it("loses no call when a registered router closes gracefully (GOAWAY)", async () => {
    const { consul } = await cluster(2, true);
    transport = createRouterTransport({ consul, refusedRouterCooldownMs: 1000 });
    await eventually(async () => expect(transport?.routers()).toHaveLength(2));
    const load = steadyLoad(createClient(AgentService, transport), 8);
    await waitCalls(load, 200);
    await routers[0]?.close(2000);
    await waitCalls(load, 300);
    await load.stop();
    expect(load.failures).toEqual([]);
    expect(transport.routers().map((r) => r.port)).toEqual([routers[1]?.port]);
  }, 30_000);

  it("loses no call when a router from a static list closes and stays listed", async () => {
    const [first, second] = (await cluster(2, false)).routers;
    if (!first || !second) throw new Error("two routers expected");
    transport = createRouterTransport({
      consul: (registry as TestRegistry).consul,
      discovery: discoveryFrom({
        GRPC_DISCOVERY_ORDER: "static",
        GRPC_STATIC_ENDPOINTS: `${first.address},${second.address}`,
      }),
    });
    const client = createClient(AgentService, transport);
    const load = steadyLoad(client, 8);
    await waitCalls(load, 200);
    await first.close(2000);
    // Every call now meets a refused connection first, half of the time, and must still pass.
    await waitCalls(load, 300);
    await load.stop();
    expect(load.failures).toEqual([]);
    const values = createContextValues();
    await client.executeTask({ agentId: "echo-agent", input: "after" }, { contextValues: values });
    expect(values.get(chosenRouterKey)?.port).toBe(second.port);
  }, 30_000);
});

describe("router transport: routers from the registry", () => {
  it("serves a call made as soon as the registry reports the first router healthy", async () => {
    registry = await startTestRegistry();
    const consul = registry.consul;
    backend = await startEchoBackend({ consul });
    transport = createRouterTransport({ consul });
    const client = createClient(AgentService, transport);
    routers.push(await startTestRouter(consul));
    await eventually(async () =>
      expect((await consul.healthService("grpc-router", { passing: true })).value).toHaveLength(1),
    );
    // The transport's own view may lag the registry by a query: the call waits for it.
    const res = await client.executeTask({ agentId: "echo-agent", input: "first" });
    expect(res.output).toBe("Echo: first");
  }, 20_000);
});

describe("router transport: routers found without the registry", () => {
  it("reaches a router listed in GRPC_STATIC_ENDPOINTS that is not registered", async () => {
    const [router] = (await cluster(1, false)).routers;
    if (!router) throw new Error("router expected");
    transport = createRouterTransport({
      consul: (registry as TestRegistry).consul,
      discovery: discoveryFrom({ GRPC_STATIC_ENDPOINTS: router.address }),
    });
    const values = createContextValues();
    const res = await createClient(AgentService, transport).executeTask(
      { agentId: "echo-agent", input: "static" },
      { contextValues: values },
    );
    expect(res.output).toBe("Echo: static");
    expect(values.get(chosenRouterKey)).toMatchObject({
      port: router.port,
      meta: { discovery: "static" },
    });
    expect(transport.watch).toBeUndefined();
  }, 20_000);

  it("reaches a router named by a DNS SRV record", async () => {
    const [router] = (await cluster(1, false)).routers;
    if (!router) throw new Error("router expected");
    dns = await startLoopbackDnsServer({
      a: { "r1.routers.test": ["127.0.0.1"] },
      srv: {
        "_grpc._tcp.routers.test": [
          { priority: 10, weight: 10, port: router.port, target: "r1.routers.test" },
        ],
      },
    });
    transport = createRouterTransport({
      consul: (registry as TestRegistry).consul,
      discovery: discoveryFrom({
        GRPC_DISCOVERY_ORDER: "dns-srv,consul",
        GRPC_DNS_SRV_NAME: "_grpc._tcp.routers.test",
        GRPC_DNS_SERVERS: dns.server,
      }),
    });
    const values = createContextValues();
    const res = await createClient(AgentService, transport).executeTask(
      { agentId: "echo-agent", input: "srv" },
      { contextValues: values },
    );
    expect(res.output).toBe("Echo: srv");
    expect(values.get(chosenRouterKey)).toMatchObject({
      address: "127.0.0.1",
      port: router.port,
      meta: { discovery: "dns-srv" },
    });
    expect(dns.queries).toContain("SRV _grpc._tcp.routers.test");
  }, 20_000);
});
