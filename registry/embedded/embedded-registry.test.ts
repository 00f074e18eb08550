import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type ConsulClient,
  ConsulError,
  createConsulClient,
} from "../../platform/consul/consul-client";
import type { HealthCheckEntry } from "../../platform/consul/consul-types";
import { createLogger } from "../../platform/log";
import { eventually } from "../../platform/test-support/eventually";
import { type EmbeddedRegistry, startEmbeddedRegistry } from "./embedded-registry";

const logger = createLogger("test", { level: "error" });
let registry: EmbeddedRegistry;
let consul: ConsulClient;
let base: string;

beforeEach(async () => {
  registry = await startEmbeddedRegistry({ logger, maxBlockingQueries: 8 });
  consul = createConsulClient({ address: registry.address });
  base = `http://${registry.address}`;
});
afterEach(async () => {
  await registry.close();
});

const ttl = { TTL: "1m", Status: "passing" as const };

async function put(path: string, body?: string) {
  const response = await fetch(`${base}${path}`, { method: "PUT", ...(body ? { body } : {}) });
  return { status: response.status, text: await response.text() };
}

describe("embedded registry: registration and queries", () => {
  it("reflects a registration in the agent, catalog and health endpoints", async () => {
    await consul.register({
      ID: "agent-echo-1",
      Name: "agent-echo",
      Tags: ["agent"],
      Address: "127.0.0.1",
      Port: 50052,
      Meta: { name: "echo", capabilities: "echo,stream" },
      Check: ttl,
    });

    expect(await consul.catalogServices()).toMatchObject({ value: { "agent-echo": ["agent"] } });
    const health = await consul.healthService("agent-echo", { passing: true });
    expect(health.index).toBeGreaterThan(0);
    expect(health.value).toHaveLength(1);
    const [entry] = health.value;
    expect(entry?.Service).toMatchObject({
      ID: "agent-echo-1",
      Service: "agent-echo",
      Tags: ["agent"],
      Address: "127.0.0.1",
      Port: 50052,
      Meta: { name: "echo", capabilities: "echo,stream" },
    });
    expect(entry?.Node).toMatchObject({ Address: "127.0.0.1", Datacenter: "dc1" });
    // Like Consul, the node's serf check comes with the service's own.
    expect(entry?.Checks.map((c) => c.CheckID)).toEqual(["serfHealth", "service:agent-echo-1"]);

    expect(await consul.agentService("agent-echo-1")).toMatchObject({ Service: "agent-echo" });
    expect(await consul.agentService("nope")).toBeUndefined();

    const catalog = (await (await fetch(`${base}/v1/catalog/service/agent-echo`)).json()) as {
      ServiceID: string;
      ServicePort: number;
    }[];
    expect(catalog.map((c) => [c.ServiceID, c.ServicePort])).toEqual([["agent-echo-1", 50052]]);
    const nodes = (await (await fetch(`${base}/v1/catalog/nodes`)).json()) as unknown[];
    expect(nodes).toHaveLength(1);
  });

  it("defaults the ID to the name and numbers unnamed checks like Consul", async () => {
    await consul.register({
      Name: "tool-weather",
      Checks: [ttl, { ...ttl, Name: "second" }],
    });
    const checks = (await (await fetch(`${base}/v1/agent/checks`)).json()) as Record<
      string,
      HealthCheckEntry
    >;
    expect(Object.keys(checks).sort()).toEqual([
      "service:tool-weather:1",
      "service:tool-weather:2",
    ]);
    expect(checks["service:tool-weather:1"]).toMatchObject({
      Name: "Service 'tool-weather' check",
      ServiceID: "tool-weather",
      Type: "ttl",
    });
    expect(checks["service:tool-weather:2"]?.Name).toBe("second");
    const services = (await (await fetch(`${base}/v1/agent/services`)).json()) as Record<
      string,
      { Service: string }
    >;
    expect(services["tool-weather"]?.Service).toBe("tool-weather");
  });

  it("decodes field names case-insensitively and in snake_case, as Consul's decoder does", async () => {
    const body = {
      name: "lower",
      tags: ["t"],
      check: { ttl: "1m", status: "passing", deregister_critical_service_after: "90s" },
    };
    expect((await put("/v1/agent/service/register", JSON.stringify(body))).status).toBe(200);
    const [check] = (await (await fetch(`${base}/v1/health/checks/lower`)).json()) as {
      Status: string;
      Definition: { DeregisterCriticalServiceAfter?: string };
    }[];
    expect(check?.Status).toBe("passing");
    expect(check?.Definition.DeregisterCriticalServiceAfter).toBe("1m30s");
  });

  it("drops checks left out of a re-registration only with replace-existing-checks", async () => {
    const checkIds = async () =>
      ((await (await fetch(`${base}/v1/health/checks/r`)).json()) as HealthCheckEntry[]).map(
        (c) => c.CheckID,
      );
    await consul.register({
      ID: "r",
      Name: "r",
      Checks: [
        { ...ttl, CheckID: "a" },
        { ...ttl, CheckID: "b" },
      ],
    });
    const onlyA = JSON.stringify({ ID: "r", Name: "r", Check: { ...ttl, CheckID: "a" } });
    await put("/v1/agent/service/register", onlyA);
    expect(await checkIds()).toEqual(["a", "b"]);
    await put("/v1/agent/service/register?replace-existing-checks=true", onlyA);
    expect(await checkIds()).toEqual(["a"]);
  });

  it("filters instances by tag", async () => {
    await consul.register({ ID: "a", Name: "mixed", Tags: ["blue", "v1"], Check: ttl });
    await consul.register({ ID: "b", Name: "mixed", Tags: ["green", "v1"], Check: ttl });
    const ids = async (query: string) => {
      const entries = (await (await fetch(`${base}/v1/health/service/mixed${query}`)).json()) as {
        Service: { ID: string };
      }[];
      return entries.map((e) => e.Service.ID);
    };
    expect(await ids("")).toEqual(["a", "b"]);
    expect(await ids("?tag=blue")).toEqual(["a"]);
    expect(await ids("?tag=v1&tag=green")).toEqual(["b"]);
    expect(await ids("?tag=red")).toEqual([]);
    expect(await consul.catalogServices()).toMatchObject({
      value: { mixed: ["blue", "green", "v1"] },
    });
    expect(await consul.servicesWithTag("green")).toEqual(["mixed"]);
  });

  it("deregisters an instance and answers 404 for an unknown one", async () => {
    await consul.register({ ID: "w-1", Name: "worker-itinerary", Tags: ["worker"], Check: ttl });
    await consul.deregister("w-1");
    expect((await consul.healthService("worker-itinerary")).value).toEqual([]);
    expect(await consul.catalogServices()).toMatchObject({ value: {} });
    const err = await consul.deregister("w-1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsulError);
    expect((err as ConsulError).status).toBe(404);
    expect((err as ConsulError).message).toContain('Unknown service ID "w-1"');
  });

  it("keeps a check's status when the same instance registers again", async () => {
    await consul.register({ ID: "r", Name: "router", Check: { TTL: "1m" } });
    await consul.updateTtlCheck("service:r", "passing", "ok");
    const before = await consul.healthService("router", { passing: true });
    await consul.register({ ID: "r", Name: "router", Check: { TTL: "1m" } });
    const after = await consul.healthService("router", { passing: true });
    expect(after.value).toHaveLength(1);
    expect(after.index).toBe(before.index);
  });

  it("reports check states by state and by service", async () => {
    await consul.register({ ID: "up", Name: "s", Check: { ...ttl, CheckID: "up-check" } });
    await consul.register({ ID: "down", Name: "s", Check: { TTL: "1m", CheckID: "down-check" } });
    const ids = async (path: string) =>
      ((await (await fetch(`${base}${path}`)).json()) as HealthCheckEntry[]).map((c) => c.CheckID);
    expect(await ids("/v1/health/state/critical")).toEqual(["down-check"]);
    expect(await ids("/v1/health/state/passing")).toEqual(["serfHealth", "up-check"]);
    expect(await ids("/v1/health/state/any")).toEqual(["down-check", "serfHealth", "up-check"]);
    expect(await ids("/v1/health/checks/s")).toEqual(["down-check", "up-check"]);
    const self = (await (await fetch(`${base}/v1/agent/self`)).json()) as {
      Config: { Datacenter: string };
    };
    expect(self.Config.Datacenter).toBe("dc1");
    await expect(consul.ping()).resolves.toBeUndefined();
  });

  it("updates TTL checks through pass, warn, fail and update, with notes as output", async () => {
    await consul.register({ ID: "t", Name: "ttl-svc", Check: { TTL: "1m" } });
    const status = async () => {
      const [check] = (await (
        await fetch(`${base}/v1/health/checks/ttl-svc`)
      ).json()) as HealthCheckEntry[];
      return [check?.Status, check?.Output];
    };
    expect((await put("/v1/agent/check/warn/service:t?note=slow")).status).toBe(200);
    expect(await status()).toEqual(["warning", "slow"]);
    await put("/v1/agent/check/pass/service:t");
    expect((await status())[0]).toBe("passing");
    await put("/v1/agent/check/fail/service:t?note=down");
    expect(await status()).toEqual(["critical", "down"]);
    await consul.updateTtlCheck("service:t", "passing", "back");
    expect(await status()).toEqual(["passing", "back"]);
  });
});

describe("embedded registry: bad input", () => {
  it("answers 400 with Consul's reasons", async () => {
    expect(await put("/v1/agent/service/register", "{not json")).toMatchObject({ status: 400 });
    expect((await put("/v1/agent/service/register", "{not json")).text).toMatch(
      /^Request decode failed: /,
    );
    expect(await put("/v1/agent/service/register", "{}")).toEqual({
      status: 400,
      text: "Missing service name",
    });
    expect(
      await put("/v1/agent/service/register", JSON.stringify({ Name: "x", Port: "80" })),
    ).toMatchObject({
      status: 400,
    });
    const noInterval = await put(
      "/v1/agent/service/register",
      JSON.stringify({ Name: "x", Check: { TCP: "127.0.0.1:1" } }),
    );
    expect(noInterval.status).toBe(400);
    expect(noInterval.text).toContain("Invalid check: Interval must be > 0");
    const badDuration = await put(
      "/v1/agent/service/register",
      JSON.stringify({ Name: "x", Check: { TCP: "127.0.0.1:1", Interval: "soon" } }),
    );
    expect(badDuration.status).toBe(400);
    expect(badDuration.text).toContain("invalid duration");
    expect(
      (await put("/v1/agent/service/register", JSON.stringify({ Name: "x", Check: {} }))).text,
    ).toBe("Invalid check: TTL must be > 0 for TTL checks");
    expect(
      await put("/v1/agent/check/update/service:x", JSON.stringify({ Status: "fine" })),
    ).toMatchObject({
      status: 400,
    });
    expect((await fetch(`${base}/v1/health/state/sleepy`)).status).toBe(400);
    expect((await fetch(`${base}/v1/catalog/services?index=abc`)).status).toBe(400);
    expect((await fetch(`${base}/v1/health/service/%E0%A4%A`)).status).toBe(400);
    // Nothing half-registered.
    expect(await consul.catalogServices()).toMatchObject({ value: {} });
  });

  it("answers 404 for unknown checks and paths, 405 for wrong methods, 413 for huge bodies", async () => {
    expect((await put("/v1/agent/check/pass/nope")).status).toBe(404);
    expect((await fetch(`${base}/v1/nothing-here`)).status).toBe(404);
    expect((await fetch(`${base}/v1/agent/service/register`)).status).toBe(405);
    const huge = JSON.stringify({ Name: "x", Meta: { big: "y".repeat(2 * 1024 * 1024) } });
    const tooLarge = await put("/v1/agent/service/register", huge);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.text).toContain("too large");
  });

  it("refuses a non-TTL check update", async () => {
    await consul.register({ ID: "g", Name: "g", Check: { TCP: "127.0.0.1:1", Interval: "1m" } });
    const res = await put("/v1/agent/check/pass/service:g");
    expect(res.status).toBe(500);
    expect(res.text).toContain("does not have associated TTL");
  });
});

describe("embedded registry: blocking queries", () => {
  it("wakes a blocked query when its answer changes", async () => {
    const first = await consul.healthService("agent-echo");
    // Waits up to five minutes, far past the test's timeout: only the change can end it in time.
    const blocked = consul.healthService("agent-echo", { index: first.index, wait: "5m" });
    setTimeout(() => void consul.register({ ID: "e1", Name: "agent-echo", Check: ttl }), 100);
    const answer = await blocked;
    expect(answer.index).toBeGreaterThan(first.index);
    expect(answer.value.map((e) => e.Service.ID)).toEqual(["e1"]);
  });

  it("does not wake on an unrelated change and times out with the same index", async () => {
    await consul.register({ ID: "e1", Name: "agent-echo", Check: ttl });
    const first = await consul.healthService("agent-echo");
    const started = Date.now();
    const blocked = consul.healthService("agent-echo", { index: first.index, wait: "1s" });
    await consul.register({ ID: "w1", Name: "tool-weather", Check: ttl });
    await consul.deregister("w1");
    const answer = await blocked;
    const elapsed = Date.now() - started;
    // wait plus Consul's jitter of at most wait/16.
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(answer.index).toBe(first.index);
    expect(answer.value.map((e) => e.Service.ID)).toEqual(["e1"]);
  });

  it("wakes a ?passing query when an instance's health changes", async () => {
    await consul.register({ ID: "e1", Name: "agent-echo", Check: ttl });
    const first = await consul.healthService("agent-echo", { passing: true });
    expect(first.value).toHaveLength(1);
    const blocked = consul.healthService("agent-echo", {
      passing: true,
      index: first.index,
      wait: "20s",
    });
    await consul.updateTtlCheck("service:e1", "critical", "broken");
    const answer = await blocked;
    expect(answer.value).toEqual([]);
    expect(answer.index).toBeGreaterThan(first.index);
  });

  it("sends Consul's headers and keeps the index monotonic", async () => {
    const a = await fetch(`${base}/v1/catalog/services`);
    expect(a.headers.get("X-Consul-KnownLeader")).toBe("true");
    expect(a.headers.get("X-Consul-LastContact")).toBe("0");
    const indexA = Number(a.headers.get("X-Consul-Index"));
    expect(indexA).toBeGreaterThan(0);
    await consul.register({ ID: "x", Name: "x", Check: ttl });
    const b = await consul.catalogServices();
    expect(b.index).toBeGreaterThan(indexA);
  });

  it("frees a blocked slot when its client goes away, and refuses queries over the cap", async () => {
    const { index } = await consul.catalogServices();
    const abort = new AbortController();
    const waits = Array.from({ length: 8 }, () =>
      consul.catalogServices({ index, wait: "20s", signal: abort.signal }).catch(() => "aborted"),
    );
    // The ninth waiter is over the cap of 8. (A probe that still finds a slot waits 1 s, answers
    // 200 and is tried again.)
    const probe = `${base}/v1/catalog/services?index=${index}&wait=1s`;
    const over = await eventually(() => answersWith(probe, 429), { what: "a refused query" });
    expect(over).toContain("Too many blocking queries");
    abort.abort();
    expect(await Promise.all(waits)).toEqual(Array(8).fill("aborted"));
    // Once the clients have gone, their slots are free again: a new query gets one, waits its
    // second and answers 200 with the same index, instead of 429.
    await eventually(() => answersWith(probe, 200), { what: "a query that waits" });
  });
});

/** One GET; its body when it answers `status`, otherwise it throws (for eventually()). */
async function answersWith(url: string, status: number): Promise<string> {
  const response = await fetch(url);
  const text = await response.text();
  if (response.status !== status) throw new Error(`${url} answered ${response.status}: ${text}`);
  return text;
}
