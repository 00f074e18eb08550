import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb";
import { ServerReflection as ServerReflectionV1Alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb";
import type { ConsulClient } from "../../platform/consul/consul-client";
import { ServingStatus } from "../../platform/health";
import { eventually } from "../../platform/test-support/eventually";
import type { EmbeddedRegistry } from "../../registry/embedded/embedded-registry";
import { startTestRouter } from "../../router/test-support/cluster";
import { type RunningService, startService } from "../sdk";
import {
  clientsFor,
  codeOf,
  quietLogger,
  startTestRegistry,
} from "../sdk/test-support/test-services";
import { echoAgent } from "./echo-agent";

let registry: EmbeddedRegistry;
let consul: ConsulClient;
let echo: RunningService;
let clients: ReturnType<typeof clientsFor>;

beforeAll(async () => {
  ({ registry, consul } = await startTestRegistry());
  echo = await startService(echoAgent, {
    consulAddress: registry.address,
    logger: quietLogger,
    drainDelayMs: 0,
  });
  clients = clientsFor(echo.address);
});
afterAll(async () => {
  await echo.stop(100);
  await registry.close();
});

describe("echo agent", () => {
  it("echoes the input and keeps the caller's task id, or makes one", async () => {
    const res = await clients.agents.executeTask({
      taskId: "t-1",
      agentId: "echo-agent",
      input: "Hello, World!",
    });
    expect(res).toMatchObject({ taskId: "t-1", output: "Echo: Hello, World!", success: true });
    const generated = await clients.agents.executeTask({ input: "x" });
    expect(generated.taskId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("streams the words one by one with rising progress, then the full result", async () => {
    const messages = [];
    const started = Date.now();
    for await (const m of clients.agents.streamTask({
      taskId: "s-1",
      input: "one two three",
      parameters: { delay_ms: "20" },
    })) {
      messages.push(m);
    }
    expect(messages.map((m) => m.output)).toEqual(["one", "two", "three", "Echo: one two three"]);
    expect(messages.map((m) => m.sequence)).toEqual([0, 1, 2, 3]);
    const progress = messages.map((m) => m.progress);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(messages.at(-1)).toMatchObject({
      done: true,
      success: true,
      progress: 100,
      taskId: "s-1",
    });
    expect(messages.slice(0, -1).every((m) => !m.done)).toBe(true);
    // Three 20 ms pauses: the stream is paced, not one burst.
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it("stops streaming promptly when the caller cancels", async () => {
    const abort = new AbortController();
    const words = Array.from({ length: 50 }, (_, i) => `w${i}`).join(" ");
    const received: string[] = [];
    const call = (async () => {
      for await (const m of clients.agents.streamTask(
        { input: words, parameters: { delay_ms: "50" } },
        { signal: abort.signal },
      )) {
        received.push(m.output);
        if (received.length === 2) abort.abort();
      }
    })();
    expect(await codeOf(call)).toBe(Code.Canceled);
    // The server stops its handler too: nothing stays active.
    const status = await eventually(
      async () => {
        const s = await clients.agents.getStatus({ agentId: "echo-agent" });
        return s.activeTasks === 0 ? s : false;
      },
      { what: "no active tasks", timeoutMs: 2000 },
    );
    expect(status.activeTasks).toBe(0);
    expect(received.length).toBe(2);
  });

  it("refuses a bad delay with INVALID_ARGUMENT and unknown methods with UNIMPLEMENTED", async () => {
    const bad = (async () => {
      for await (const _ of clients.agents.streamTask({
        input: "a",
        parameters: { delay_ms: "soon" },
      })) {
        // drained
      }
    })();
    expect(await codeOf(bad)).toBe(Code.InvalidArgument);
    expect(
      await codeOf(clients.tools.executeTool({ toolId: "weather-tool", operation: "current" })),
    ).toBe(Code.Unimplemented);
    expect(await codeOf(clients.agents.getStatus({ agentId: "other-agent" }))).toBe(Code.NotFound);
  });

  it("reports its status and capabilities", async () => {
    const status = await clients.agents.getStatus({ agentId: "echo-agent" });
    expect(status).toMatchObject({
      id: "echo-agent",
      version: "1.0.0",
      capabilities: echoAgent.capabilities,
    });
  });

  it("registers as agent-echo with its metadata and passes the registry's gRPC check", async () => {
    const entry = await eventually(
      async () => {
        const { value } = await consul.healthService("agent-echo", { passing: true });
        return value[0] ?? false;
      },
      { what: "a passing agent-echo" },
    );
    expect(entry.Service).toMatchObject({
      Service: "agent-echo",
      Tags: ["agent"],
      Port: echo.port,
      Meta: {
        name: "echo",
        description: echoAgent.description,
        capabilities: "echo,text-processing,streaming",
        version: "1.0.0",
      },
    });
  });

  it("answers server reflection (v1 and v1alpha) with decodable descriptors", async () => {
    for (const service of [ServerReflection, ServerReflectionV1Alpha]) {
      const client = createClient(service, clients.transport);
      async function* requests() {
        yield { messageRequest: { case: "listServices" as const, value: "" } };
        yield {
          messageRequest: {
            case: "fileContainingSymbol" as const,
            value: "agentplatform.v1.AgentService",
          },
        };
        yield {
          messageRequest: { case: "fileContainingSymbol" as const, value: "no.such.Symbol" },
        };
      }
      const answers = [];
      for await (const a of client.serverReflectionInfo(requests()))
        answers.push(a.messageResponse);
      const [list, file, missing] = answers;
      expect(list?.case).toBe("listServicesResponse");
      const names =
        list?.case === "listServicesResponse" ? list.value.service.map((s) => s.name) : [];
      expect(names).toEqual(
        expect.arrayContaining([
          "agentplatform.v1.AgentService",
          "grpc.health.v1.Health",
          service.typeName,
        ]),
      );
      expect(file?.case).toBe("fileDescriptorResponse");
      const protos =
        file?.case === "fileDescriptorResponse"
          ? file.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b))
          : [];
      expect(protos[0]?.name).toBe("agentplatform/v1/platform.proto");
      expect(
        protos[0]?.service.find((s) => s.name === "AgentService")?.method.map((m) => m.name),
      ).toEqual(["ExecuteTask", "StreamTask", "GetStatus", "ListAgents"]);
      expect(missing).toMatchObject({ case: "errorResponse", value: { errorCode: Code.NotFound } });
    }
  });

  it("exposes Prometheus metrics counting calls by method and code", async () => {
    expect(echo.metricsUrl).toBeDefined();
    const text = await (await fetch(`${echo.metricsUrl}/metrics`)).text();
    expect(text).toMatch(
      /grpc_server_handled_total\{service="agent-echo",method="agentplatform.v1.AgentService\/ExecuteTask",code="OK"\} [1-9]/,
    );
    expect(text).toContain("process_cpu_seconds_total");
  });
});

describe("echo agent through a router", () => {
  it("answers ExecuteTask and StreamTask sent to a router", async () => {
    const router = await startTestRouter(consul);
    try {
      const via = clientsFor(router.address).agents;
      const res = await eventually(
        () =>
          via.executeTask(
            { agentId: "echo-agent", taskId: "r-1", input: "via router" },
            { timeoutMs: 2000 },
          ),
        { what: "echo routable" },
      );
      expect(res).toMatchObject({ taskId: "r-1", output: "Echo: via router", success: true });
      const outputs: string[] = [];
      for await (const m of via.streamTask({
        agentId: "echo-agent",
        input: "a b",
        parameters: { delay_ms: "10" },
      })) {
        outputs.push(m.output);
      }
      expect(outputs).toEqual(["a", "b", "Echo: a b"]);
    } finally {
      await router.close(100);
    }
  });
});

describe("echo agent drain", () => {
  it("reports NOT_SERVING, leaves the registry and lets an in-flight stream finish", async () => {
    const draining = await startService(echoAgent, {
      consulAddress: registry.address,
      logger: quietLogger,
      drainDelayMs: 300,
      metricsPort: -1,
    });
    const c = clientsFor(draining.address);
    const health = createClient(Health, c.transport);
    await draining.registered();
    const got: string[] = [];
    const stream = (async () => {
      for await (const m of c.agents.streamTask({
        input: "a b c d",
        parameters: { delay_ms: "150" },
      }))
        got.push(m.output);
    })();
    await eventually(() => got.length > 0, { what: "first word" });
    const stopped = draining.stop(5000);
    // During the drain delay the server still answers, and says it is going away.
    expect((await health.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
    await stream;
    await stopped;
    expect(got.at(-1)).toBe("Echo: a b c d");
    const left = await consul.agentService(draining.instanceId);
    expect(left).toBeUndefined();
  });
});
