import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsoleService, type InvokeEvent } from "../gen/agentplatform/v1/console_pb";
import { AgentService } from "../gen/agentplatform/v1/platform_pb";
import { eventually } from "../platform/test-support/eventually";
import { startTestCluster, type TestCluster } from "./test-support/test-cluster";

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster();
  // The agent and the router must both be healthy before calls can route.
  const client = createClient(ConsoleService, createConnectTransport({ baseUrl: cluster.baseUrl }));
  await eventually(async () => {
    const { services } = await client.listServices({});
    const ready = ["agent-echo", "grpc-router"].every(
      (name) => (services.find((s) => s.name === name)?.passingInstances ?? 0) > 0,
    );
    return ready;
  });
});

afterAll(async () => {
  await cluster?.close();
});

const console_ = () =>
  createClient(ConsoleService, createGrpcWebTransport({ baseUrl: cluster.baseUrl }));

async function collect(events: AsyncIterable<InvokeEvent>): Promise<InvokeEvent[]> {
  const out: InvokeEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe("Invoke", () => {
  it("runs a unary method from JSON and reports headers, the message and OK", async () => {
    const events = await collect(
      console_().invoke({
        method: "/agentplatform.v1.AgentService/ExecuteTask",
        requestJson: JSON.stringify({ agentId: "echo-agent", input: "hello" }),
      }),
    );
    expect(
      events.map((e) => e.event.case),
      JSON.stringify(events.at(-1)),
    ).toEqual(["headers", "message", "result"]);
    const [headers, message, result] = events.map((e) => e.event);
    expect(headers?.case === "headers" && headers.value.router).toContain("router-test");
    expect(message?.case === "message" && JSON.parse(message.value.json)).toMatchObject({
      output: "echo: hello",
      success: true,
    });
    expect(result?.case === "result" && result.value).toMatchObject({ code: "OK", messages: 1 });
  });

  it("streams each message as it arrives, before the stream ends", async () => {
    const started = performance.now();
    const arrivals: number[] = [];
    let result: InvokeEvent["event"] | undefined;
    for await (const e of console_().invoke({
      method: "/agentplatform.v1.AgentService/StreamTask",
      requestJson: JSON.stringify({
        agentId: "echo-agent",
        parameters: { count: "3", delay_ms: "400" },
      }),
    })) {
      if (e.event.case === "message") {
        arrivals.push(performance.now() - started);
        expect(e.event.value.index).toBe(arrivals.length - 1);
      }
      if (e.event.case === "result") result = e.event;
    }
    expect(arrivals).toHaveLength(3);
    // The first message left the agent ~800 ms before the last: it must not have waited for it.
    expect((arrivals[2] ?? 0) - (arrivals[0] ?? 0)).toBeGreaterThan(500);
    expect(result?.case === "result" && result.value).toMatchObject({ code: "OK", messages: 3 });
  });

  it("cancels the upstream call when the caller aborts the Invoke stream", async () => {
    const log = cluster.agent.log;
    const cancelledBefore = log.streamsCancelled;
    const abort = new AbortController();
    const seen: string[] = [];
    const err = await (async () => {
      for await (const e of console_().invoke(
        {
          method: "/agentplatform.v1.AgentService/StreamTask",
          requestJson: JSON.stringify({
            agentId: "echo-agent",
            parameters: { count: "50", delay_ms: "200" },
          }),
        },
        { signal: abort.signal },
      )) {
        seen.push(e.event.case ?? "");
        if (e.event.case === "message") abort.abort();
      }
    })().catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.Canceled);
    expect(seen).toContain("message");
    await eventually(() => log.streamsCancelled > cancelledBefore, {
      timeoutMs: 5000,
    });
  });

  it("reports the upstream status by name, with its message", async () => {
    const events = await collect(
      console_().invoke({
        method: "/agentplatform.v1.AgentService/ExecuteTask",
        requestJson: JSON.stringify({ agentId: "nobody-agent", input: "x" }),
      }),
    );
    const result = events.at(-1)?.event;
    expect(result?.case).toBe("result");
    expect(result?.case === "result" && result.value.code).toBe("NOT_FOUND");
    expect(result?.case === "result" && result.value.message).toContain("nobody");
  });

  it("answers NOT_FOUND for an unknown method and INVALID_ARGUMENT naming a bad field", async () => {
    const first = (req: Parameters<ReturnType<typeof console_>["invoke"]>[0]) =>
      console_()
        .invoke(req)
        [Symbol.asyncIterator]()
        .next()
        .then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
    const unknown = await first({ method: "/agentplatform.v1.AgentService/Nope" });
    expect(unknown?.code).toBe(Code.NotFound);
    const badField = await first({
      method: "/agentplatform.v1.AgentService/ExecuteTask",
      requestJson: JSON.stringify({ agentId: "echo-agent", parameters: "not a map" }),
    });
    expect(badField?.code).toBe(Code.InvalidArgument);
    expect(badField?.message).toContain("parameters");
    const unknownField = await first({
      method: "/agentplatform.v1.AgentService/ExecuteTask",
      requestJson: JSON.stringify({ agentId: "echo-agent", colour: "red" }),
    });
    expect(unknownField?.code).toBe(Code.InvalidArgument);
    expect(unknownField?.message).toContain("colour");
    const notJson = await first({
      method: "/agentplatform.v1.AgentService/ExecuteTask",
      requestJson: "{agentId:",
    });
    expect(notJson?.code).toBe(Code.InvalidArgument);
  });
});

describe("platform services on the browser endpoint", () => {
  it("forwards AgentService calls from gRPC-Web and Connect clients to the routers", async () => {
    for (const transport of [
      createGrpcWebTransport({ baseUrl: cluster.baseUrl }),
      createConnectTransport({ baseUrl: cluster.baseUrl }),
    ]) {
      const agents = createClient(AgentService, transport);
      const res = await agents.executeTask({ agentId: "echo-agent", input: "via browser" });
      expect(res.output).toBe("echo: via browser");
      const steps: number[] = [];
      for await (const m of agents.streamTask({
        agentId: "echo-agent",
        parameters: { count: "2", delay_ms: "10" },
      })) {
        steps.push(m.sequence);
      }
      expect(steps).toEqual([0, 1]);
    }
  });

  it("runs the gRPC front door beside the browser endpoint for unmodified gRPC clients", async () => {
    const frontDoor = cluster.gateway.frontDoor;
    expect(frontDoor).toBeDefined();
    const agents = createClient(
      AgentService,
      createGrpcTransport({ baseUrl: `http://${frontDoor?.address}` }),
    );
    const res = await agents.executeTask({ agentId: "echo-agent", input: "front door" });
    expect(res.output).toBe("echo: front door");
  });
});
