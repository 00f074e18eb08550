// One server of the edge attack tests in a process of its own, so its memory can be read from
// /proc: `backend` runs a registry and an agent; `router` and `front-door` run a router and a
// front door that find what they need in the registry at EDGE_REGISTRY. Limits come from the environment (H2_*, GRPC_*)
// as in production. It prints `EDGE_READY {json}` once it serves, answers `stats` on stdin with
// `EDGE_STATS {json}`, and exits when stdin closes.

import { createInterface } from "node:readline";
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { startFrontDoor } from "../../../gateway/front-door";
import { AgentService, TaskResponseSchema } from "../../../gen/agentplatform/v1/platform_pb";
import { startEmbeddedRegistry } from "../../../registry/embedded/embedded-registry";
import { startRouter } from "../../../router/router";
import { EnvReader } from "../../config";
import { createConsulClient } from "../../consul/consul-client";
import { startGrpcServer } from "../../grpc-server";
import { createHealthStatusTable } from "../../health";
import { createLogger } from "../../log";
import { registerInstance } from "../../registration";
import { readServerLimits } from "../../server-limits";

const log = createLogger("edge-test", { level: "error" });
const stats = { agentStreams: 0, agentCalls: 0 };

function announce(prefix: string, info: Record<string, unknown>): void {
  process.stdout.write(`${prefix} ${JSON.stringify(info)}\n`);
}

/**
 * "agent-echo": ExecuteTask echoes its input; StreamTask sends parameters.count messages
 * (default 5) of parameters.size bytes (default 16) parameters.delay_ms apart (default 10).
 */
async function startAgent(consul: ReturnType<typeof createConsulClient>) {
  const health = createHealthStatusTable();
  const routes = (router: ConnectRouter) => {
    health.routes(router);
    router.service(AgentService, {
      executeTask(req) {
        stats.agentCalls++;
        return { taskId: req.taskId, output: `Echo: ${req.input}`, success: true };
      },
      async *streamTask(req, ctx) {
        stats.agentCalls++;
        const count = Number(req.parameters.count ?? "5");
        const size = Number(req.parameters.size ?? "16");
        const delayMs = Number(req.parameters.delay_ms ?? "10");
        const output = "x".repeat(size);
        for (let i = 0; i < count && !ctx.signal.aborted; i++) {
          yield create(TaskResponseSchema, { taskId: req.taskId, output, sequence: i });
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        }
      },
    });
  };
  const server = await startGrpcServer({
    routes,
    streamHandler: (_stream, headers) => {
      if (!headers[":path"]?.startsWith("/grpc.health.v1.")) stats.agentStreams++;
      return false;
    },
    logger: log,
  });
  await registerInstance(
    consul,
    {
      name: "agent-echo",
      id: `agent-echo-${server.port}`,
      tags: ["agent"],
      meta: { name: "agent-echo", description: "edge test agent", version: "1.0.0" },
      address: server.host,
      port: server.port,
      checkIntervalMs: 1000,
    },
    log,
  );
  return server;
}

async function main(): Promise<void> {
  const env = new EnvReader();
  const role = process.argv[2];
  const limits = readServerLimits(env);
  env.done("edge-process");
  const registry = () =>
    createConsulClient({
      address: env.string("EDGE_REGISTRY", "127.0.0.1:8500"),
      timeoutMs: 1000,
    });
  if (role === "backend") {
    const embedded = await startEmbeddedRegistry({ logger: log, reapIntervalMs: 500 });
    const consul = createConsulClient({ address: embedded.address, timeoutMs: 1000 });
    const agent = await startAgent(consul);
    announce("EDGE_READY", { port: agent.port, registry: embedded.address });
  } else if (role === "router") {
    const router = await startRouter({
      consul: registry(),
      logger: log,
      checkIntervalMs: 1000,
      limits,
      watch: { maxBackoffMs: 300, wait: "5s" },
    });
    announce("EDGE_READY", { port: router.port });
  } else if (role === "front-door") {
    const door = await startFrontDoor({
      consul: registry(),
      logger: log,
      limits,
      watch: { maxBackoffMs: 300, wait: "5s" },
    });
    announce("EDGE_READY", { port: door.port });
  } else {
    throw new Error(`usage: edge-process.ts backend|router|front-door, got ${String(role)}`);
  }
  const lines = createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (line === "stats") announce("EDGE_STATS", stats);
  });
  lines.on("close", () => process.exit(0));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
