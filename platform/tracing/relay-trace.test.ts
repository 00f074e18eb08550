// A traced router in front of one instance that answers UNAVAILABLE and one that works: a call
// that met the bad one shows two attempt spans under one call span with a retry event, and the
// call whose failure ejected it carries an "ejected" event.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentService, TaskResponseSchema } from "../../gen/agentplatform/v1/platform_pb";
import type { Router } from "../../router/router";
import {
  eventually,
  grpcTransport,
  quietLogger,
  startTestRegistry,
  startTestRouter,
  type TestRegistry,
} from "../../router/test-support/cluster";
import { type GrpcServer, startGrpcServer } from "../grpc-server";
import { startTracing, type Tracing } from "./start-tracing";
import { type OtlpReceiver, startOtlpReceiver } from "./test-support/otlp-receiver";

let receiver: OtlpReceiver;
let tracing: Tracing;
let registry: TestRegistry;
let router: Router;
const servers: GrpcServer[] = [];

function agent(answer: () => string): (router: ConnectRouter) => void {
  return (r) =>
    r.service(AgentService, {
      executeTask: () => create(TaskResponseSchema, { output: answer(), success: true }),
    });
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  // This file runs in a process of its own: the SDK reads these as a process would.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = "http/json";
  process.env.OTEL_BSP_SCHEDULE_DELAY = "100";
  tracing = await startTracing("router", { asyncContext: false });
  registry = await startTestRegistry();
  const bad = await startGrpcServer({
    routes: agent(() => {
      throw new ConnectError("overloaded", Code.Unavailable);
    }),
    logger: quietLogger,
  });
  const good = await startGrpcServer({ routes: agent(() => "fine"), logger: quietLogger });
  servers.push(bad, good);
  for (const [i, server] of [bad, good].entries()) {
    await registry.consul.register({
      ID: `agent-flaky-${i}`,
      Name: "agent-flaky",
      Tags: ["agent"],
      Address: "127.0.0.1",
      Port: server.port,
      Check: { TCP: server.address, Interval: "1s" },
    });
  }
  router = await startTestRouter(registry.consul);
}, 30_000);

afterAll(async () => {
  await router?.close(100);
  for (const s of servers) await s.close(0);
  await registry?.registry.close();
  await tracing?.stop();
  await receiver?.close();
});

describe("relay spans under faults", () => {
  it("records retries as attempts and events, and the ejection of the failing instance", async () => {
    const client = createClient(AgentService, grpcTransport(router.address));
    await eventually(() => client.executeTask({ agentId: "flaky-agent", input: "x" }));
    // Enough calls that the failing instance is picked, retried away from, and ejected.
    for (let i = 0; i < 40; i++) {
      const reply = await client.executeTask({ agentId: "flaky-agent", input: `${i}` });
      expect(reply.output).toBe("fine");
    }
    const calls = () =>
      receiver.spans.filter((s) => s.kind === 2 && s.name.endsWith("AgentService/ExecuteTask"));
    await eventually(async () => {
      if (!calls().some((s) => s.events.some((e) => e.name === "ejected")))
        throw new Error("no ejection yet");
    });
    const retried = calls().find((s) => s.events.some((e) => e.name === "retry"));
    expect(retried, "a call span with a retry event").toBeDefined();
    expect(retried?.attributes["rpc.grpc.status_code"]).toBe(0);
    expect(retried?.attributes["agentplatform.attempts"]).toBe(2);
    const attempts = receiver.spans.filter((s) => s.parentSpanId === retried?.spanId);
    expect(attempts.map((a) => a.attributes["rpc.grpc.status_code"]).sort()).toEqual([0, 14]);
    const failed = attempts.find((a) => a.attributes["rpc.grpc.status_code"] === 14);
    expect(failed?.attributes["agentplatform.attempt.failure"]).toBe("unavailable");
    expect(failed?.statusCode).toBe(2);
    expect(failed?.attributes["server.port"]).toBe(servers[0]?.port);
    const ejecting = calls().find((s) => s.events.some((e) => e.name === "ejected"));
    expect(ejecting?.events.find((e) => e.name === "ejected")?.attributes["server.port"]).toBe(
      servers[0]?.port,
    );
  });
});
