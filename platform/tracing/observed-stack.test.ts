// The local stack as an operator sees it, with tracing exporting to a local OTLP/HTTP receiver:
// one call through the front door gives one trace across the gateway, a router and the echo
// agent; a failed call's JSON log line carries the error and the trace id; every process's
// /metrics carries the standard Node.js runtime families.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentService, TaskWorker } from "../../gen/agentplatform/v1/platform_pb";
import { type Stack, startStack, waitFor } from "../../scripts/stack";
import { eventually } from "../test-support/eventually";
import {
  type OtlpReceiver,
  type ReceivedSpan,
  startOtlpReceiver,
} from "./test-support/otlp-receiver";

const serverKind = 2;
const clientKind = 3;
const executeTask = "agentplatform.v1.AgentService/ExecuteTask";

let receiver: OtlpReceiver;
let stack: Stack;
let dataDir: string;
const lines: string[] = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  dataDir = mkdtempSync(join(tmpdir(), "traced-stack-"));
  stack = await startStack({
    basePort: 26410,
    routers: 1,
    withConsole: false,
    dataDir,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "100",
      LOG_FORMAT: "json",
    },
    onLine: (name, line) => lines.push(`${name}| ${line}`),
  }).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${lines.slice(-40).join("\n")}`);
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

function client() {
  return createClient(
    AgentService,
    createGrpcTransport({ baseUrl: `http://${stack.frontDoorAddress}` }),
  );
}

/** The spans of one trace, once the gateway, the router and the echo agent have all exported. */
async function traceOf(traceId: string, services: string[]): Promise<ReceivedSpan[]> {
  const spans = () => receiver.spans.filter((s) => s.traceId === traceId);
  await waitFor(`spans of trace ${traceId} from ${services.join(", ")}`, async () =>
    services.every((service) => spans().some((s) => s.service === service)),
  );
  return spans();
}

function only(spans: ReceivedSpan[], service: string, kind: number): ReceivedSpan {
  const found = spans.filter((s) => s.service === service && s.kind === kind);
  expect(found, `${service} spans of kind ${kind}`).toHaveLength(1);
  return found[0] as ReceivedSpan;
}

describe("tracing across the stack", () => {
  it("gives one ExecuteTask one trace: gateway → router → echo agent, parents linked", async () => {
    const taskId = `traced-${Date.now()}`;
    const reply = await client().executeTask({ taskId, agentId: "echo-agent", input: "hi" });
    expect(reply.output).toBe("Echo: hi");

    await waitFor("the gateway's span", async () =>
      receiver.spans.some((s) => s.service === "gateway" && s.name === executeTask),
    );
    const root = receiver.spans.find(
      (s) => s.service === "gateway" && s.name === executeTask && s.parentSpanId === "",
    );
    expect(root).toBeDefined();
    const spans = await traceOf(root?.traceId ?? "", ["gateway", "router", "agent-echo"]);

    const gatewayServer = only(spans, "gateway", serverKind);
    const gatewayClient = only(spans, "gateway", clientKind);
    const routerServer = only(spans, "router", serverKind);
    const routerClient = only(spans, "router", clientKind);
    const agent = only(spans, "agent-echo", serverKind);
    expect(gatewayClient.parentSpanId).toBe(gatewayServer.spanId);
    expect(routerServer.parentSpanId).toBe(gatewayClient.spanId);
    expect(routerClient.parentSpanId).toBe(routerServer.spanId);
    expect(agent.parentSpanId).toBe(routerClient.spanId);
    for (const span of spans) {
      expect(span.name).toBe(executeTask);
      expect(span.attributes).toMatchObject({
        "rpc.system": "grpc",
        "rpc.service": "agentplatform.v1.AgentService",
        "rpc.method": "ExecuteTask",
        "rpc.grpc.status_code": 0,
      });
      expect(span.endNs).toBeGreaterThanOrEqual(span.startNs);
    }
    // The router's attempt names the echo instance it chose.
    expect(routerClient.attributes["server.address"]).toBe("127.0.0.1");
    expect(routerClient.attributes["server.port"]).toBe(26410 + 4);
    expect(gatewayClient.attributes["server.port"]).toEqual(expect.any(Number));
  });

  it("carries the trace over an agent link: gateway → router → dial-in agent", async () => {
    const traceId = "6e0c63257de34c92bf9efcd03927272e";
    const parentId = "b7ad6b7169203331";
    const reply = await client().executeTask(
      { taskId: "traced-dial-in", agentId: "nat-agent", input: "One. Two." },
      { headers: { traceparent: `00-${traceId}-${parentId}-01` } },
    );
    expect(reply.success).toBe(true);
    const spans = await traceOf(traceId, ["gateway", "router", "agent-nat"]);

    const gatewayServer = only(spans, "gateway", serverKind);
    const gatewayClient = only(spans, "gateway", clientKind);
    const routerServer = only(spans, "router", serverKind);
    const agent = only(spans, "agent-nat", serverKind);
    expect(gatewayServer.parentSpanId).toBe(parentId);
    expect(gatewayClient.parentSpanId).toBe(gatewayServer.spanId);
    expect(routerServer.parentSpanId).toBe(gatewayClient.spanId);
    // The router hands the call to the link it holds (no attempt of its own); the agent's span
    // continues the router's.
    expect(routerServer.attributes["agentplatform.handed_to"]).toBe("linked agent");
    expect(spans.filter((s) => s.service === "router" && s.kind === clientKind)).toEqual([]);
    expect(agent.parentSpanId).toBe(routerServer.spanId);
    expect(agent.name).toBe(executeTask);
    expect(agent.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": "agentplatform.v1.AgentService",
      "rpc.method": "ExecuteTask",
      "rpc.grpc.status_code": 0,
    });
  });

  it("records a worker's job and each of its steps in the trace of the ProcessTask call", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const parentId = "a3ce929d0e0e4736";
    const workers = createClient(
      TaskWorker,
      createGrpcTransport({ baseUrl: `http://${stack.frontDoorAddress}` }),
    );
    const accepted = await workers.processTask(
      {
        agentId: "itinerary-worker",
        input: "Lisbon",
        parameters: { days: "1", start_date: "2025-07-10" },
      },
      { headers: { traceparent: `00-${traceId}-${parentId}-01` } },
    );
    expect(accepted.success).toBe(true);
    const spans = () => receiver.spans.filter((s) => s.traceId === traceId);
    // The job runs after ProcessTask returned; its span ends last, once every step has.
    await eventually(() => spans().some((s) => s.name.startsWith("job ")), {
      what: `the job span of task ${accepted.taskId}`,
      timeoutMs: 30_000,
    });
    const all = spans();
    const job = all.find((s) => s.name.startsWith("job ")) as ReceivedSpan;
    const accepting = all.find(
      (s) => s.service === job.service && s.kind === serverKind && s.spanId === job.parentSpanId,
    );
    expect(accepting?.name).toBe("agentplatform.v1.TaskWorker/ProcessTask");
    expect(job.attributes).toMatchObject({
      "agentplatform.task_id": accepted.taskId,
      "agentplatform.job.outcome": "succeeded",
    });
    const steps = all.filter((s) => s.parentSpanId === job.spanId && s.name.startsWith("step "));
    expect(steps.map((s) => s.attributes["agentplatform.job.step"]).sort()).toEqual(
      ["compile", "plan activities", "validate", "weather 2025-07-10"].sort(),
    );
    for (const step of steps) {
      expect(step.attributes["agentplatform.job.step.outcome"]).toBe("SUCCEEDED");
    }
    // A step's own platform calls (the weather tool) are children of the step's span.
    const weatherStep = steps.find((s) => s.name === "step weather 2025-07-10");
    expect(all.some((s) => s.kind === clientKind && s.parentSpanId === weatherStep?.spanId)).toBe(
      true,
    );
  });

  it("continues a trace the caller started (W3C traceparent)", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parentId = "00f067aa0ba902b7";
    await client().executeTask(
      { taskId: "traced-parent", agentId: "echo-agent", input: "continued" },
      { headers: { traceparent: `00-${traceId}-${parentId}-01` } },
    );
    const spans = await traceOf(traceId, ["gateway", "router", "agent-echo"]);
    expect(only(spans, "gateway", serverKind).parentSpanId).toBe(parentId);
  });

  it("logs a failed call's error with its message, stack, code and trace id (JSON)", async () => {
    const stream = client().streamTask({
      taskId: "traced-failure",
      agentId: "echo-agent",
      input: "a b",
      parameters: { delay_ms: "soon" },
    });
    const failure = await (async () => {
      for await (const _ of stream) {
        // nothing arrives before the error
      }
    })().catch((err: unknown) => ConnectError.from(err));
    expect(failure?.code).toBe(Code.InvalidArgument);

    let record: Record<string, unknown> | undefined;
    await waitFor("the echo agent's log line of the failed call", async () => {
      for (const line of lines) {
        if (!line.startsWith("echo") || !line.includes("delay_ms")) continue;
        record = JSON.parse(line.slice(line.indexOf("| ") + 2)) as Record<string, unknown>;
        return true;
      }
      return false;
    });
    expect(record).toMatchObject({
      message: "call failed",
      code: "InvalidArgument",
      err: { type: "ConnectError", grpc_code: "InvalidArgument" },
    });
    const err = record?.err as { message: string; stack: string };
    expect(err.message).toContain("parameters.delay_ms must be a whole number");
    expect(err.stack).toContain("echo-agent.ts");
    const traceId = String(record?.trace_id);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    // The id is the trace the gateway started for this call.
    await traceOf(traceId, ["gateway", "router", "agent-echo"]);
  });
});

describe("metrics of every process", () => {
  it("carry the standard Node.js runtime families beside the process's own", async () => {
    const urls = new Map<string, string>();
    for (const line of lines) {
      const bar = line.indexOf("| ");
      if (bar < 0 || line[bar + 2] !== "{") continue;
      const record = JSON.parse(line.slice(bar + 2)) as { url?: unknown; metrics?: unknown };
      const name = line.slice(0, bar);
      if (typeof record.url === "string" && record.url.endsWith("/metrics"))
        urls.set(name, record.url);
      if (typeof record.metrics === "string") urls.set(name, `${record.metrics}/metrics`);
    }
    expect([...urls.keys()].sort()).toEqual(
      expect.arrayContaining(["echo", "gateway", "itinerary", "router-1", "weather"]),
    );
    for (const [name, url] of urls) {
      const body = await (await fetch(url)).text();
      for (const family of [
        "nodejs_heap_size_used_bytes",
        "nodejs_eventloop_lag_seconds",
        "process_cpu_seconds_total",
      ]) {
        expect(body, `${name} ${url}`).toMatch(new RegExp(`^${family} [0-9.e+-]+$`, "m"));
      }
    }
    const router = await (await fetch(urls.get("router-1") ?? "")).text();
    expect(router).toMatch(/^router_calls_total\{/m);
  });
});
