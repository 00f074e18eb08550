import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConsulClient } from "../../platform/consul/consul-client";
import { eventually } from "../../platform/test-support/eventually";
import type { EmbeddedRegistry } from "../../registry/embedded/embedded-registry";
import { clientsFor, startTestRegistry } from "../sdk/test-support/test-services";

const root = new URL("../..", import.meta.url).pathname;
let registry: EmbeddedRegistry;
let consul: ConsulClient;

beforeAll(async () => {
  ({ registry, consul } = await startTestRegistry());
});
afterAll(async () => {
  await registry.close();
});

describe("a service process on SIGTERM", () => {
  it("finishes the in-flight stream, leaves the registry and exits 0", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(root, "services/echo/main.ts")],
      {
        cwd: root,
        env: {
          ...process.env,
          CONSUL_HTTP_ADDR: registry.address,
          GRPC_SERVER_PORT: "0",
          METRICS_PORT: "-1",
          LOG_LEVEL: "warn",
        },
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    try {
      const entry = await eventually(
        async () => (await consul.healthService("agent-echo")).value[0] ?? false,
        { what: "echo registered", timeoutMs: 20_000, intervalMs: 100 },
      );
      const client = clientsFor(`${entry.Service.Address}:${entry.Service.Port}`).agents;
      const got: string[] = [];
      const stream = (async () => {
        for await (const m of client.streamTask({
          input: "one two three four",
          parameters: { delay_ms: "250" },
        }))
          got.push(m.output);
      })();
      await eventually(() => got.length > 0, { what: "first word", timeoutMs: 5000 });
      child.kill("SIGTERM");
      await stream;
      expect(got.at(-1)).toBe("Echo: one two three four");
      expect(await exited).toBe(0);
      expect((await consul.healthService("agent-echo")).value).toEqual([]);
    } finally {
      child.kill("SIGKILL");
    }
  }, 30_000);
});
