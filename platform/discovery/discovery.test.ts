import { createSocket } from "node:dgram";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type EmbeddedRegistry,
  startEmbeddedRegistry,
} from "../../registry/embedded/embedded-registry";
import { EnvReader } from "../config";
import { createConsulClient } from "../consul/consul-client";
import { createLogger } from "../log";
import { createConsulStrategy } from "./consul-strategy";
import {
  createDiscoveryFromConfig,
  readDiscoveryConfig,
  readOptionalDiscoveryConfig,
  strategiesFor,
} from "./discovery-config";
import { createDnsAStrategy, createDnsSrvStrategy } from "./dns-strategies";
import { parseEndpoint } from "./endpoint";
import { createEndpointDiscovery } from "./endpoint-discovery";
import { createStaticStrategy } from "./fixed-strategies";
import { type LoopbackDnsServer, startLoopbackDnsServer } from "./test-support/loopback-dns-server";

const table = {
  a: {
    "router.platform.test": ["10.0.0.12", "10.0.0.11"],
    "r1.platform.test": ["10.0.1.1"],
    "r2.platform.test": ["10.0.1.2"],
    "backup.platform.test": ["10.0.9.9"],
  },
  srv: {
    "_grpc._tcp.router.platform.test": [
      { priority: 10, weight: 5, port: 7001, target: "r1.platform.test" },
      { priority: 20, weight: 100, port: 7009, target: "backup.platform.test" },
      { priority: 10, weight: 50, port: 7002, target: "r2.platform.test" },
    ],
  },
};

let dns: LoopbackDnsServer;
let registry: EmbeddedRegistry;
/** A UDP port that nothing answers on: queries to it fail. */
let silentServer: string;
beforeAll(async () => {
  dns = await startLoopbackDnsServer(table);
  registry = await startEmbeddedRegistry({ logger: createLogger("registry", { level: "error" }) });
  const probe = createSocket("udp4");
  await new Promise<void>((resolve) => probe.bind(0, "127.0.0.1", resolve));
  silentServer = `127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
afterAll(async () => {
  await dns.close();
  await registry.close();
});

describe("DNS strategies against a DNS server on loopback", () => {
  it("turns A records into endpoints on the configured port", async () => {
    const strategy = createDnsAStrategy("router.platform.test", 50051, { servers: [dns.server] });
    expect(await strategy.resolve()).toEqual([
      { host: "10.0.0.11", port: 50051 },
      { host: "10.0.0.12", port: 50051 },
    ]);
    expect(dns.queries).toContain("A router.platform.test");
    const missing = createDnsAStrategy("nope.platform.test", 1, { servers: [dns.server] });
    expect(await missing.resolve()).toEqual([]);
  });

  it("uses the lowest SRV priority group, heaviest first, with targets resolved to addresses", async () => {
    const strategy = createDnsSrvStrategy("_grpc._tcp.router.platform.test", {
      servers: [dns.server],
    });
    expect(await strategy.resolve()).toEqual([
      { host: "10.0.1.2", port: 7002 },
      { host: "10.0.1.1", port: 7001 },
    ]);
    expect(dns.queries).toContain("SRV _grpc._tcp.router.platform.test");
  });

  it("fails (rather than answering empty) when the name server does not answer", async () => {
    const strategy = createDnsAStrategy("router.platform.test", 1, {
      servers: [silentServer],
      timeoutMs: 200,
      tries: 1,
    });
    await expect(strategy.resolve()).rejects.toThrow();
  });
});

describe("endpoint discovery in priority order", () => {
  it("falls through empty and failing strategies to the first with endpoints", async () => {
    const discovery = createEndpointDiscovery({
      strategies: [
        createDnsSrvStrategy("_grpc._tcp.absent.platform.test", { servers: [dns.server] }),
        createDnsAStrategy("router.platform.test", 1, {
          servers: [silentServer],
          timeoutMs: 200,
          tries: 1,
        }),
        createStaticStrategy([{ host: "127.0.0.1", port: 7100 }]),
        createDnsAStrategy("router.platform.test", 50051, { servers: [dns.server] }),
      ],
    });
    const result = await discovery.resolve();
    expect(result.strategy).toBe("static");
    expect(result.endpoints).toEqual([{ host: "127.0.0.1", port: 7100 }]);
    expect(result.attempts.map((a) => [a.strategy, a.found, a.error !== undefined])).toEqual([
      ["dns-srv", 0, false],
      ["dns-a", 0, true],
      ["static", 1, false],
    ]);
  });

  it("caches answers, asks again after invalidate, and keeps the last good answer when all fail", async () => {
    let now = 1_000_000;
    const a = createDnsAStrategy("router.platform.test", 50051, { servers: [dns.server] });
    const discovery = createEndpointDiscovery({ strategies: [a], cacheMs: 5000, clock: () => now });
    const asked = () => dns.queries.filter((q) => q === "A router.platform.test").length;
    const before = asked();
    await discovery.resolve();
    await discovery.resolve();
    expect(asked()).toBe(before + 1);
    now += 6000;
    await discovery.resolve();
    expect(asked()).toBe(before + 2);
    discovery.invalidate();
    await discovery.resolve();
    expect(asked()).toBe(before + 3);

    dns.setTable({});
    try {
      discovery.invalidate();
      const stale = await discovery.resolve();
      expect(stale.stale).toBe(true);
      expect(stale.endpoints).toHaveLength(2);
    } finally {
      dns.setTable(table);
    }
  });

  it("answers UNAVAILABLE naming every strategy when none ever found anything", async () => {
    const discovery = createEndpointDiscovery({
      strategies: [createDnsAStrategy("nope.platform.test", 1, { servers: [dns.server] })],
    });
    const err = await discovery.resolve().catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect((err as ConnectError).rawMessage).toContain(
      "dns-a (nope.platform.test:1): no endpoints",
    );
  });
});

describe("Consul strategy", () => {
  it("returns only passing instances of the service from the registry", async () => {
    const consul = createConsulClient({ address: registry.address });
    const register = (id: string, port: number, status: "passing" | "critical") =>
      consul.register({
        ID: id,
        Name: "grpc-router",
        Address: "127.0.0.1",
        Port: port,
        Check: { CheckID: `service:${id}`, TTL: "60s", Status: status },
      });
    await register("router-a", 7201, "passing");
    await register("router-b", 7202, "critical");
    const strategy = createConsulStrategy(consul, "grpc-router");
    expect(await strategy.resolve()).toEqual([{ host: "127.0.0.1", port: 7201 }]);
    expect(await createConsulStrategy(consul, "grpc-nothing").resolve()).toEqual([]);
  });
});

describe("discovery configuration", () => {
  it("builds strategies from GRPC_* in GRPC_DISCOVERY_ORDER, skipping unconfigured ones", async () => {
    const env = new EnvReader({
      GRPC_DISCOVERY_ORDER: "dns-a,lb,static,consul",
      GRPC_STATIC_ENDPOINTS: "127.0.0.1:7001, [::1]:7002",
      GRPC_LB_ENDPOINT: "nlb.internal:50051",
      GRPC_DNS_NAME: "router.platform.test",
      GRPC_DNS_PORT: "7443",
      GRPC_DNS_SERVERS: dns.server,
    });
    const config = readDiscoveryConfig(env);
    env.done("test");
    expect(config.staticEndpoints).toEqual([
      { host: "127.0.0.1", port: 7001 },
      { host: "::1", port: 7002 },
    ]);
    const names = strategiesFor(config).map((s) => s.name);
    expect(names).toEqual(["dns-a", "lb", "static"]); // consul left out: no client given
    const result = await createDiscoveryFromConfig(config).resolve();
    expect(result.strategy).toBe("dns-a");
    expect(result.endpoints[0]).toEqual({ host: "10.0.0.11", port: 7443 });
  });

  it("is off (callers keep the registry watch) until an order or a strategy is configured", () => {
    const optional = (env: Record<string, string>) =>
      readOptionalDiscoveryConfig(new EnvReader(env));
    expect(optional({})).toBeUndefined();
    expect(optional({ GRPC_DNS_TIMEOUT: "1s" })).toBeUndefined();
    expect(optional({ GRPC_DISCOVERY_ORDER: "consul" })?.order).toEqual(["consul"]);
    expect(optional({ GRPC_STATIC_ENDPOINTS: "127.0.0.1:7001" })?.staticEndpoints).toHaveLength(1);
    expect(optional({ GRPC_DNS_SRV_NAME: "_grpc._tcp.router" })?.dnsSrvName).toBe(
      "_grpc._tcp.router",
    );
  });

  it("names each bad variable", () => {
    const env = new EnvReader({
      GRPC_DISCOVERY_ORDER: "static,etcd",
      GRPC_STATIC_ENDPOINTS: "host-without-port",
      GRPC_LB_ENDPOINT: "nlb:99999",
      GRPC_DNS_SERVERS: "dns.example",
    });
    readDiscoveryConfig(env);
    expect(() => env.done("gateway")).toThrow(
      /GRPC_DISCOVERY_ORDER: "etcd"[\s\S]*GRPC_STATIC_ENDPOINTS: "host-without-port"[\s\S]*GRPC_LB_ENDPOINT[\s\S]*GRPC_DNS_SERVERS: "dns.example"/,
    );
    expect(parseEndpoint("[::1]:50051")).toEqual({ host: "::1", port: 50051 });
    expect(parseEndpoint("router:0")).toBeUndefined();
  });
});
