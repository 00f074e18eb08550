// The Run page's trace: with tracing on and the processes exporting OTLP/JSON to the gateway's
// ingest, a console run's spans (gateway, router, agent) come back from TraceService; anything
// else sent to the ingest is not kept.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsoleService } from "../gen/agentplatform/v1/console_pb";
import { TraceService } from "../gen/agentplatform/v1/trace_pb";
import { type MetricsServer, startMetricsServer } from "../platform/metrics-http";
import { startTracing, type Tracing } from "../platform/tracing";
import { otlpIngestHandler } from "./run-traces";
import { eventually, startTestCluster, type TestCluster } from "./test-cluster";

let cluster: TestCluster;
let ingest: MetricsServer;
let tracing: Tracing;
const forwarded: { at: string | undefined } = { at: undefined };

beforeAll(async () => {
  // The ingest must listen before the tracer points at it; its store comes once the gateway runs.
  ingest = await startMetricsServer({
    render: () => "",
    routes: {
      "/v1/traces": (req, res) => {
        if (cluster === undefined) {
          res.writeHead(503).end();
          return;
        }
        forwarded.at = req.headers["content-type"];
        otlpIngestHandler(cluster.gateway.runTraces)(req, res);
      },
    },
  });
  // This test file runs in a process of its own: the SDK reads these as a process would.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = ingest.url;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = "http/json";
  process.env.OTEL_BSP_SCHEDULE_DELAY = "100";
  tracing = await startTracing("test");
  cluster = await startTestCluster({ traceUiUrl: "http://jaeger.test:16686" });
  const client = createClient(ConsoleService, createConnectTransport({ baseUrl: cluster.baseUrl }));
  await eventually(async () => {
    const { services } = await client.listServices({});
    const ready = ["agent-echo", "grpc-router"].every(
      (name) => (services.find((s) => s.name === name)?.passingInstances ?? 0) > 0,
    );
    return ready ? true : undefined;
  });
});

afterAll(async () => {
  await cluster?.close();
  await tracing?.stop();
  await ingest?.close();
});

describe("TraceService.GetRunTrace", () => {
  it("returns the spans of a console run, gateway to agent, with the trace UI link", async () => {
    const transport = createConnectTransport({ baseUrl: cluster.baseUrl });
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    for await (const _ of createClient(ConsoleService, transport).invoke(
      {
        method: "/agentplatform.v1.AgentService/ExecuteTask",
        requestJson: JSON.stringify({ agentId: "echo-agent", input: "traced" }),
      },
      { headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` } },
    )) {
      // drain
    }
    const traces = createClient(TraceService, transport);
    const answer = await eventually(async () => {
      const got = await traces.getRunTrace({ traceId });
      // Invoke, its client call, the router's call and attempt, the agent's ExecuteTask.
      return got.spans.length >= 5 ? got : undefined;
    });
    expect(forwarded.at).toBe("application/json");
    expect(answer.tracingEnabled).toBe(true);
    expect(answer.traceUiUrl).toBe(`http://jaeger.test:16686/trace/${traceId}`);
    const names = answer.spans.map((s) => `${s.kind} ${s.name}`);
    expect(names).toContain("server agentplatform.v1.ConsoleService/Invoke");
    expect(
      names.filter((n) => n === "server agentplatform.v1.AgentService/ExecuteTask"),
    ).toHaveLength(2);
    const attempt = answer.spans.find(
      (s) => s.kind === "client" && s.name.endsWith("ExecuteTask") && s.serverAddress !== "",
    );
    expect(attempt?.grpcStatusCode).toBe(0);
    const invoke = answer.spans.find((s) => s.name.endsWith("ConsoleService/Invoke"));
    expect(invoke?.parentSpanId).toBe("b7ad6b7169203331");
  });

  it("keeps nothing for traces the console did not start, and refuses a malformed id", async () => {
    const transport = createConnectTransport({ baseUrl: cluster.baseUrl });
    const agents = createClient(ConsoleService, transport);
    await agents.listServices(
      {},
      { headers: { traceparent: "00-11111111111111111111111111111111-2222222222222222-01" } },
    );
    const traces = createClient(TraceService, transport);
    expect(
      (await traces.getRunTrace({ traceId: "11111111111111111111111111111111" })).spans,
    ).toEqual([]);
    await expect(traces.getRunTrace({ traceId: "../etc" })).rejects.toThrow(/32 lowercase hex/);
  });
});
