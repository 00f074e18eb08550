import { afterEach, describe, expect, it } from "vitest";
import { HealthStatus } from "../gen/agentplatform/v1/console_pb";
import { createConsulClient } from "../platform/consul/consul-client";
import { createLogger } from "../platform/log";
import { eventually } from "../platform/test-support/eventually";
import {
  type EmbeddedRegistry,
  startEmbeddedRegistry,
} from "../registry/embedded/embedded-registry";
import { createRegistryView, type RegistryView } from "./registry-view";

const logger = createLogger("test", { level: "error" });
let registry: EmbeddedRegistry | undefined;
let view: RegistryView | undefined;

afterEach(async () => {
  view?.stop();
  await registry?.close();
  registry = undefined;
  view = undefined;
});

describe("registry view", () => {
  it("waits between queries without piling up abort listeners (no MaxListenersExceededWarning)", async () => {
    registry = await startEmbeddedRegistry({ port: 0, logger });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    try {
      // Blocking queries that return after 10 ms: every loop sleeps to the 50 ms floor, about
      // 30 sleeps in 1.5 s, three times the listeners an AbortSignal takes before it warns.
      view = createRegistryView({
        consul: createConsulClient({ address: registry.address, timeoutMs: 1000 }),
        logger,
        wait: "10ms",
      });
      await view.ready();
      await new Promise((r) => setTimeout(r, 1500));
      expect(view.hasAnswered()).toBe(true);
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((w) => w.includes("MaxListeners"))).toEqual([]);
  });

  it("forgets services that come and go without piling up abort listeners", async () => {
    registry = await startEmbeddedRegistry({ port: 0, logger });
    const consul = createConsulClient({ address: registry.address, timeoutMs: 1000 });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    try {
      const current = createRegistryView({ consul, logger, wait: "5s" });
      view = current;
      await current.ready();
      const names = () => current.snapshot().services.map((s) => s.name);
      // Fifteen services, one after another, each seen by the view and then deregistered:
      // more than the ten listeners an AbortSignal takes before it warns.
      for (let i = 0; i < 15; i++) {
        const name = `tool-passing-${i}`;
        await consul.register({ ID: `${name}-1`, Name: name, Tags: ["tool"], Port: 1000 + i });
        await eventually(() => names().includes(name), { what: `${name} in the view` });
        await consul.deregister(`${name}-1`);
        await eventually(() => !names().includes(name), { what: `${name} gone from the view` });
      }
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((w) => w.includes("MaxListeners"))).toEqual([]);
  });

  it("does not record a check that has not run yet as a failure: its history starts at its first result", async () => {
    registry = await startEmbeddedRegistry({ port: 0, logger });
    const consul = createConsulClient({ address: registry.address, timeoutMs: 1000 });
    const current = createRegistryView({ consul, logger, wait: "5s" });
    view = current;
    await current.ready();
    // A TTL check starts critical with no output, as Consul starts every check.
    await consul.register({
      ID: "tool-fresh-1",
      Name: "tool-fresh",
      Tags: ["tool"],
      Port: 1000,
      Check: { TTL: "30s" },
    });
    const check = () =>
      current
        .snapshot()
        .services.find((s) => s.name === "tool-fresh")
        ?.instances[0]?.checks.find((c) => c.checkId === "service:tool-fresh-1");
    await eventually(() => check()?.status === HealthStatus.CRITICAL, { what: "the fresh check" });
    expect(check()?.history).toEqual([]);
    await consul.updateTtlCheck("service:tool-fresh-1", "passing", "ok");
    await eventually(() => check()?.status === HealthStatus.PASSING, { what: "the first result" });
    expect(check()?.history.map((t) => t.status)).toEqual([HealthStatus.PASSING]);
    // A real failure after that is recorded, with its output.
    await consul.updateTtlCheck("service:tool-fresh-1", "critical", "disk full");
    await eventually(() => check()?.status === HealthStatus.CRITICAL, { what: "the failure" });
    expect(check()?.history.map((t) => [t.status, t.output])).toEqual([
      [HealthStatus.PASSING, "ok"],
      [HealthStatus.CRITICAL, "disk full"],
    ]);
  });
});
