import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { RouterAdmin } from "../gen/agentplatform/v1/router_admin_pb";
import { type GrpcServer, startGrpcServer } from "../platform/grpc-server";
import { createLogger } from "../platform/log";
import { createRouterAdminService, type RouterAdminDeps } from "./admin-service";
import { createRouterMetrics } from "./metrics/router-metrics";

const logger = createLogger("test", { level: "error" });
let server: GrpcServer | undefined;
afterEach(async () => {
  await server?.close(100);
  server = undefined;
});

async function startAdmin(overrides: Partial<RouterAdminDeps> = {}) {
  const metrics = createRouterMetrics();
  let snapshots = 0;
  const deps: RouterAdminDeps = {
    identity: () => ({
      routerId: "router-1",
      address: server?.address ?? "",
      version: "1.2.3",
      startedAtMs: 1_700_000_000_000,
      draining: false,
    }),
    metrics: {
      snapshot: (seconds) => {
        snapshots++;
        return metrics.snapshot(seconds);
      },
    },
    cachedServices: () => [
      {
        service: "agent-echo",
        index: 42n,
        endpoints: [{ instanceId: "echo-1", address: "127.0.0.1", port: 7001, inFlight: 2 }],
      },
    ],
    registryReachable: () => true,
    resolve: (target) => {
      if (target !== "echo-agent") throw new ConnectError(`no agent ${target}`, Code.NotFound);
      return { target, service: "agent-echo", balancer: "p2c" };
    },
    ...overrides,
  };
  server = await startGrpcServer({ routes: createRouterAdminService(deps), logger });
  const client = createClient(
    RouterAdmin,
    createGrpcTransport({ baseUrl: `http://${server.address}` }),
  );
  return { client, metrics, snapshotCount: () => snapshots };
}

/** Reads a stream to its end; returns how it ended ("ok" for a normal end). */
async function drain(stream: AsyncIterable<unknown>, onMessage: () => void): Promise<Code | "ok"> {
  try {
    for await (const _ of stream) onMessage();
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("RouterAdmin", () => {
  it("reports counters with the router's identity", async () => {
    const { client, metrics } = await startAdmin();
    metrics.record({
      method: "/agentplatform.v1.AgentService/ExecuteTask",
      service: "agent-echo",
      backend: "127.0.0.1:7001",
      code: 14,
      durationMs: 3,
      messages: 0,
      retried: true,
    });
    const stats = await client.getRouterStats({});
    expect(stats.routerId).toBe("router-1");
    expect(stats.address).toBe(server?.address);
    expect(stats.version).toBe("1.2.3");
    expect(stats.startedAtMs).toBe(1_700_000_000_000n);
    expect(stats.totalCalls).toBe(1n);
    expect(stats.totalErrors).toBe(1n);
    expect(stats.retries).toBe(1n);
    expect(stats.backends[0]?.address).toBe("127.0.0.1:7001");
  });

  it("streams stats at the requested interval and stops when the caller cancels", async () => {
    const { client, snapshotCount } = await startAdmin();
    const abort = new AbortController();
    const arrivals: number[] = [];
    const ended = await drain(
      client.watchRouterStats({ intervalMs: 300 }, { signal: abort.signal }),
      () => {
        arrivals.push(Date.now());
        if (arrivals.length === 4) abort.abort();
      },
    );
    expect(ended).toBe(Code.Canceled);
    expect(arrivals.length).toBe(4);
    const gaps = arrivals.slice(1).map((t, i) => t - (arrivals[i] ?? t));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(250);
    // Generous upper bound: the machine is shared, but the stream must not lag seconds behind.
    expect(Math.max(...gaps)).toBeLessThan(1500);

    // The server notices the cancel and stops sampling.
    await until(() => server?.activeStreams() === 0);
    const after = snapshotCount();
    await new Promise((r) => setTimeout(r, 900));
    expect(snapshotCount()).toBe(after);
  });

  it("never streams faster than every 250 ms", async () => {
    const { client } = await startAdmin();
    const abort = new AbortController();
    const arrivals: number[] = [];
    await drain(client.watchRouterStats({ intervalMs: 10 }, { signal: abort.signal }), () => {
      arrivals.push(Date.now());
      if (arrivals.length === 3) abort.abort();
    });
    expect((arrivals[2] ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThanOrEqual(480);
  });

  it("ends watch streams cleanly when the router shuts down", async () => {
    const shutdown = new AbortController();
    const { client } = await startAdmin({ shutdown: shutdown.signal });
    let received = 0;
    let abortedAt = 0;
    for await (const _ of client.watchRouterStats({ intervalMs: 10_000 })) {
      received++;
      abortedAt = Date.now();
      shutdown.abort();
    }
    expect(received).toBe(1);
    // The stream ends at the shutdown, not at the next 10 s tick.
    expect(Date.now() - abortedAt).toBeLessThan(2000);
  });

  it("returns the cached endpoints and explains routing decisions", async () => {
    const { client } = await startAdmin();
    const endpoints = await client.getEndpoints({});
    expect(endpoints.routerId).toBe("router-1");
    expect(endpoints.registryReachable).toBe(true);
    expect(endpoints.services[0]?.service).toBe("agent-echo");
    expect(endpoints.services[0]?.index).toBe(42n);
    expect(endpoints.services[0]?.endpoints[0]?.port).toBe(7001);

    const resolved = await client.resolve({ target: " echo-agent " });
    expect(resolved.service).toBe("agent-echo");
    expect(resolved.balancer).toBe("p2c");

    const codeOf = (p: Promise<unknown>) =>
      p.then(
        (): Code | "ok" => "ok",
        (e) => ConnectError.from(e).code,
      );
    expect(await codeOf(client.resolve({ target: "" }))).toBe(Code.InvalidArgument);
    expect(await codeOf(client.resolve({ target: "x", kind: "robot" }))).toBe(Code.InvalidArgument);
    expect(await codeOf(client.resolve({ target: "ghost-agent" }))).toBe(Code.NotFound);
  });
});
