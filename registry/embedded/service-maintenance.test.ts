// PUT /v1/agent/service/maintenance/:id with Consul's semantics, through the Consul client.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ConsulClient, createConsulClient } from "../../platform/consul/consul-client";
import type { HealthCheckEntry, ServiceEntry } from "../../platform/consul/consul-types";
import { createLogger } from "../../platform/log";
import { type EmbeddedRegistry, startEmbeddedRegistry } from "./embedded-registry";

const logger = createLogger("test", { level: "error" });
let registry: EmbeddedRegistry;
let consul: ConsulClient;
let base: string;

beforeEach(async () => {
  registry = await startEmbeddedRegistry({ logger });
  consul = createConsulClient({ address: registry.address });
  base = `http://${registry.address}`;
  await consul.register({
    ID: "m-1",
    Name: "maint",
    Port: 1,
    Check: { CheckID: "m-1:ttl", TTL: "1m", Status: "passing" },
  });
});
afterEach(async () => {
  await registry.close();
});

const put = async (path: string) => {
  const response = await fetch(`${base}${path}`, { method: "PUT" });
  return { status: response.status, text: await response.text() };
};
const checks = async () =>
  (await (await fetch(`${base}/v1/health/checks/maint`)).json()) as HealthCheckEntry[];

describe("service maintenance mode", () => {
  it("adds a critical _service_maintenance check with the reason, and removes it", async () => {
    await consul.serviceMaintenance("m-1", true, "disk swap");
    const on = (await checks()).find((c) => c.CheckID === "_service_maintenance:m-1");
    expect(on).toMatchObject({
      Name: "Service Maintenance Mode",
      Status: "critical",
      Notes: "disk swap",
      ServiceID: "m-1",
      ServiceName: "maint",
      Type: "maintenance",
    });
    // A passing-only query no longer returns the instance: it is out of rotation.
    const passing = (await (
      await fetch(`${base}/v1/health/service/maint?passing=true`)
    ).json()) as ServiceEntry[];
    expect(passing).toEqual([]);

    await consul.serviceMaintenance("m-1", false);
    expect((await checks()).map((c) => c.CheckID)).toEqual(["m-1:ttl"]);
  });

  it("uses Consul's default reason, is idempotent, and survives re-registration", async () => {
    await consul.serviceMaintenance("m-1", true);
    await consul.serviceMaintenance("m-1", true, "second time changes nothing");
    const on = (await checks()).filter((c) => c.Type === "maintenance");
    expect(on).toHaveLength(1);
    expect(on[0]?.Notes).toBe(
      "Maintenance mode is enabled for this service, but no reason was provided. This is a default message.",
    );
    await fetch(`${base}/v1/agent/service/register?replace-existing-checks=true`, {
      method: "PUT",
      body: JSON.stringify({
        ID: "m-1",
        Name: "maint",
        Port: 1,
        Check: { CheckID: "m-1:ttl", TTL: "1m", Status: "passing" },
      }),
    });
    expect((await checks()).some((c) => c.Type === "maintenance")).toBe(true);
    // Deregistering removes it with the service.
    await consul.deregister("m-1");
    expect(await checks()).toEqual([]);
  });

  it("answers 400 without enable or with a bad one, 404 for an unknown service", async () => {
    expect(await put("/v1/agent/service/maintenance/m-1")).toEqual({
      status: 400,
      text: "Missing value for enable",
    });
    expect((await put("/v1/agent/service/maintenance/m-1?enable=maybe")).status).toBe(400);
    const unknown = await put("/v1/agent/service/maintenance/nope?enable=true");
    expect(unknown.status).toBe(404);
    expect(unknown.text).toContain('No service registered with ID "nope"');
  });
});
