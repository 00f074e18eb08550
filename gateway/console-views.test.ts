import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConsoleService,
  HealthStatus,
  type ListServicesResponse,
  ServiceInstanceSchema,
} from "../gen/agentplatform/v1/console_pb";
import { AgentService } from "../gen/agentplatform/v1/platform_pb";
import {
  CachedEndpointSchema,
  CachedServiceSchema,
  GetEndpointsResponseSchema,
} from "../gen/agentplatform/v1/router_admin_pb";
import { ServingStatus } from "../platform/health";
import { eventually } from "../platform/test-support/eventually";
import { clusterSource } from "./metrics-history";
import { cacheDrift } from "./router-fleet";
import { startTestCluster, type TestCluster } from "./test-support/test-cluster";

let cluster: TestCluster;
const client = () =>
  createClient(ConsoleService, createConnectTransport({ baseUrl: cluster.baseUrl }));

const echoOf = (res: ListServicesResponse) => res.services.find((s) => s.name === "agent-echo");

beforeAll(async () => {
  cluster = await startTestCluster();
  await eventually(async () => {
    const { services } = await client().listServices({});
    const ready = ["agent-echo", "grpc-router"].every(
      (name) => (services.find((s) => s.name === name)?.passingInstances ?? 0) > 0,
    );
    return ready;
  });
});

afterAll(async () => {
  await cluster?.close();
});

describe("services", () => {
  it("lists each service with its kind, client id, metadata, instances and checks", async () => {
    const echo = echoOf(await client().listServices({}));
    expect(echo).toMatchObject({
      kind: "agent",
      clientId: "echo-agent",
      description: "echo test agent",
      capabilities: ["echo", "stream"],
      version: "1.2.3",
      status: HealthStatus.PASSING,
      passingInstances: 1,
    });
    const instance = echo?.instances[0];
    expect(instance?.port).toBe(cluster.agent.server.port);
    expect(instance?.meta.name).toBe("echo");
    const check = instance?.checks.find((c) => c.type === "grpc");
    expect(check).toMatchObject({ status: HealthStatus.PASSING, interval: "1s", flapping: false });
    expect(check?.history.length).toBeGreaterThan(0);
    const routers = (await client().listServices({})).services.find(
      (s) => s.name === "grpc-router",
    );
    expect(routers).toMatchObject({ kind: "router", clientId: "" });
  });

  it("pushes a critical service to watchers when its health goes NOT_SERVING, and back", async () => {
    const abort = new AbortController();
    const statuses: HealthStatus[] = [];
    try {
      for await (const res of client().watchServices({}, { signal: abort.signal })) {
        const echo = echoOf(res);
        if (!echo) continue;
        if (statuses.at(-1) !== echo.status) statuses.push(echo.status);
        if (statuses.length === 1) {
          cluster.agent.health.set("", ServingStatus.NOT_SERVING);
        } else if (echo.status === HealthStatus.CRITICAL) {
          const check = echo.instances[0]?.checks.find((c) => c.type === "grpc");
          expect(check?.status).toBe(HealthStatus.CRITICAL);
          expect(check?.output).not.toBe("");
          expect(check?.history.map((t) => t.status).slice(-2)).toEqual([
            HealthStatus.PASSING,
            HealthStatus.CRITICAL,
          ]);
          expect(echo.passingInstances).toBe(0);
          cluster.agent.health.set("", ServingStatus.SERVING);
        } else if (statuses.length >= 3) {
          break;
        }
      }
    } finally {
      abort.abort();
    }
    expect(statuses).toEqual([HealthStatus.PASSING, HealthStatus.CRITICAL, HealthStatus.PASSING]);
  });

  it("marks a check flapping after several status changes within a minute", async () => {
    // The previous test already moved the check twice; one more round trip makes four changes.
    for (const status of [ServingStatus.NOT_SERVING, ServingStatus.SERVING]) {
      cluster.agent.health.set("", status);
      const want = status === ServingStatus.SERVING ? HealthStatus.PASSING : HealthStatus.CRITICAL;
      await eventually(async () => {
        const echo = echoOf(await client().listServices({}));
        return echo?.status === want;
      });
    }
    const check = echoOf(await client().listServices({}))?.instances[0]?.checks.find(
      (c) => c.type === "grpc",
    );
    expect(check?.flapping).toBe(true);
    expect(check?.history.length).toBeGreaterThanOrEqual(5);
  });
});

describe("routers", () => {
  it("lists each router with its stats, cached endpoints and no drift when in sync", async () => {
    // A call makes the router resolve and cache agent-echo.
    const agents = createClient(AgentService, createConnectTransport({ baseUrl: cluster.baseUrl }));
    await agents.executeTask({ agentId: "echo-agent", input: "warm" });
    const { routers } = await client().listRouters({});
    expect(routers).toHaveLength(1);
    const view = routers[0];
    expect(view?.error).toBe("");
    expect(view?.instance?.port).toBe(cluster.router.port);
    expect(view?.stats?.routerId).toBe("router-test");
    expect(Number(view?.stats?.totalCalls ?? 0)).toBeGreaterThan(0);
    const cached = view?.endpoints?.services.find((s) => s.service === "agent-echo");
    expect(cached?.endpoints.map((e) => e.port)).toEqual([cluster.agent.server.port]);
    expect(view?.drift).toEqual([]);
  });

  it("computes drift: registry instances a router lacks and ones it keeps after they left", () => {
    const instance = (id: string, port: number, status = HealthStatus.PASSING) =>
      create(ServiceInstanceSchema, { instanceId: id, address: "127.0.0.1", port, status });
    const registry = [instance("a", 1), instance("b", 2), instance("c", 3, HealthStatus.CRITICAL)];
    const endpoints = create(GetEndpointsResponseSchema, {
      services: [
        create(CachedServiceSchema, {
          service: "agent-x",
          endpoints: [
            create(CachedEndpointSchema, { instanceId: "a", address: "127.0.0.1", port: 1 }),
            create(CachedEndpointSchema, { instanceId: "c", address: "127.0.0.1", port: 3 }),
          ],
        }),
        create(CachedServiceSchema, { service: "agent-y", endpoints: [] }),
      ],
    });
    const drift = cacheDrift(endpoints, (s) => (s === "agent-x" ? registry : []));
    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatchObject({
      service: "agent-x",
      missing: ["127.0.0.1:2"],
      stale: ["127.0.0.1:3"],
    });
  });

  it("reports an unreachable router with the error instead of failing the list", async () => {
    await cluster.consul.register({
      ID: "grpc-router-ghost",
      Name: "grpc-router",
      Address: "127.0.0.1",
      Port: 1,
      Tags: ["router"],
    });
    try {
      const ghost = await eventually(async () => {
        const { routers } = await client().listRouters({});
        return routers.find((r) => r.instance?.instanceId === "grpc-router-ghost") ?? false;
      });
      expect(ghost.error).not.toBe("");
      expect(ghost.stats).toBeUndefined();
    } finally {
      await cluster.consul.deregister("grpc-router-ghost");
    }
  });
});

describe("resolve and metrics", () => {
  it("traces a client id to its service, registry instances and a router's choice", async () => {
    const res = await client().resolveTarget({ target: "echo-agent" });
    expect(res.service).toBe("agent-echo");
    expect(res.registryInstances.map((i) => i.port)).toEqual([cluster.agent.server.port]);
    expect(res.routerId).toContain("router");
    expect(res.router?.chosen?.port).toBe(cluster.agent.server.port);
  });

  it("streams cluster and per-router series, the first message carrying history", async () => {
    // Let the sampler (every 250 ms here) gather a few points before anyone watches.
    await eventually(() => {
      const cluster_ = cluster.gateway.metrics.series().find((s) => s.source === clusterSource);
      return (cluster_?.points.length ?? 0) >= 3;
    });
    const abort = new AbortController();
    const messages = [];
    for await (const snapshot of client().watchMetrics(
      { historyPoints: 10 },
      { signal: abort.signal },
    )) {
      messages.push(snapshot);
      if (messages.length === 2) break;
    }
    abort.abort();
    const [first, second] = messages;
    const clusterSeries = first?.series.find((s) => s.source === clusterSource);
    expect(clusterSeries?.points.length).toBeGreaterThanOrEqual(3);
    expect(clusterSeries?.points.length).toBeLessThanOrEqual(10);
    expect(first?.series.map((s) => s.source)).toContain("router-test");
    expect(second?.series.every((s) => s.points.length === 1)).toBe(true);
  });
});
