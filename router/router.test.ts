import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AgentService,
  ServingState,
  TaskRequestSchema,
  TaskWorker,
  ToolService,
} from "../gen/agentplatform/v1/platform_pb";
import { RouterAdmin } from "../gen/agentplatform/v1/router_admin_pb";
import { ServerReflection } from "../gen/grpc/reflection/v1/reflection_pb";
import type { Router } from "./router";
import {
  codeOf,
  grpcFrame,
  grpcTransport,
  rawGrpcCall,
  startTestRegistry,
  startTestRouter,
  type TestRegistry,
  waitRoutable,
} from "./test-support/cluster";
import { type EchoBackend, startEchoBackend } from "./test-support/echo-backend";

let registry: TestRegistry;
let router: Router;
let echo: EchoBackend;
let worker: EchoBackend;

beforeAll(async () => {
  registry = await startTestRegistry();
  echo = await startEchoBackend({ consul: registry.consul });
  worker = await startEchoBackend({
    consul: registry.consul,
    service: "worker-itinerary",
    meta: { capabilities: "planning,travel" },
  });
  // A registered tool with no healthy instance: its check target does not listen.
  await registry.consul.register({
    ID: "tool-broken-1",
    Name: "tool-broken",
    Tags: ["tool"],
    Address: "127.0.0.1",
    Port: 9,
    Check: { TCP: "127.0.0.1:9", Interval: "1s" },
  });
  router = await startTestRouter(registry.consul);
  await waitRoutable(router.address);
});

afterAll(async () => {
  await router?.close(500);
  await echo?.stop("hard");
  await worker?.stop("hard");
  await registry?.registry.close();
});

describe("router forwarding", () => {
  it("forwards ExecuteTask by client id or service name and streams StreamTask", async () => {
    const client = createClient(AgentService, grpcTransport(router.address));
    const byClientId = await client.executeTask({ agentId: "echo-agent", input: "Hello, World!" });
    expect(byClientId.output).toBe("Echo: Hello, World!");
    expect(byClientId.metadata.backend).toBe(echo.address);
    const byService = await client.executeTask({ agentId: "agent-echo", input: "again" });
    expect(byService.output).toBe("Echo: again");

    const steps: string[] = [];
    for await (const msg of client.streamTask({
      agentId: "echo-agent",
      parameters: { count: "4" },
    })) {
      steps.push(msg.output);
    }
    expect(steps).toEqual(["step 0", "step 1", "step 2", "step 3"]);

    const tasks = createClient(TaskWorker, grpcTransport(router.address));
    const status = await tasks.getTaskStatus({ workerId: "itinerary-worker", taskId: "t1" });
    expect(status.taskId).toBe("t1");
    expect(status.metadata.backend).toBe(worker.address);
  });

  it("answers NOT_FOUND for an unknown id, naming it and the service looked up", async () => {
    const client = createClient(AgentService, grpcTransport(router.address));
    const err = await client
      .executeTask({ agentId: "nobody-agent", input: "x" })
      .catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    expect((err as ConnectError).rawMessage).toContain("nobody-agent");
    expect((err as ConnectError).rawMessage).toContain("agent-nobody");
  });

  it("answers UNAVAILABLE for a known service with no healthy instance", async () => {
    const client = createClient(ToolService, grpcTransport(router.address));
    const err = await client
      .executeTool({ toolId: "broken-tool" })
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect((err as ConnectError).rawMessage).toContain("tool-broken");
  });

  it("rejects an empty id and malformed bytes with INVALID_ARGUMENT", async () => {
    const client = createClient(AgentService, grpcTransport(router.address));
    expect(await codeOf(client.executeTask({ agentId: "", input: "x" }))).toBe(
      Code.InvalidArgument,
    );
    // Field 2 announces 100 bytes but the message ends after 3.
    const truncated = await rawGrpcCall(
      router.address,
      "/agentplatform.v1.AgentService/ExecuteTask",
      grpcFrame(Uint8Array.from([0x12, 100, 0x61, 0x62, 0x63])),
    );
    expect(truncated.status).toBe(Code.InvalidArgument);
    expect(truncated.message).toContain("malformed");
    // The proxy's own errors are Trailers-Only: the status is in the first HEADERS frame.
    expect(truncated.headers["grpc-status"]).toBe(String(Code.InvalidArgument));
  });

  it("answers RESOURCE_EXHAUSTED for a first message over the limit without reading it", async () => {
    const header = Buffer.alloc(5);
    header.writeUInt32BE(64 * 1024 * 1024, 1);
    const answer = await rawGrpcCall(
      router.address,
      "/agentplatform.v1.AgentService/ExecuteTask",
      Buffer.concat([header, Buffer.alloc(1024)]),
    );
    expect(answer.status).toBe(Code.ResourceExhausted);
  });

  it("reads the routing field from a gzip-compressed first message", async () => {
    const { gzipSync } = await import("node:zlib");
    const body = toBinary(
      TaskRequestSchema,
      create(TaskRequestSchema, { agentId: "echo-agent", input: "zipped" }),
    );
    const zipped = gzipSync(body);
    const frame = grpcFrame(zipped);
    frame[0] = 1;
    const answer = await rawGrpcCall(
      router.address,
      "/agentplatform.v1.AgentService/ExecuteTask",
      frame,
      { "grpc-encoding": "gzip", "grpc-accept-encoding": "identity" },
    );
    expect(answer.status).toBe(0);
    expect(answer.body.toString("latin1")).toContain("Echo: zipped");
  });

  it("ends a call the backend never answers with DEADLINE_EXCEEDED and aborts the backend", async () => {
    const client = createClient(AgentService, grpcTransport(router.address));
    const aborted = echo.nextAbort();
    const started = performance.now();
    const code = await codeOf(
      client.executeTask(
        { agentId: "echo-agent", input: "hang" },
        {
          timeoutMs: 400,
        },
      ),
    );
    const elapsed = performance.now() - started;
    expect(code).toBe(Code.DeadlineExceeded);
    expect(elapsed).toBeGreaterThanOrEqual(350);
    await aborted;
  });

  it("counts a call its caller resets at the deadline as DEADLINE_EXCEEDED, not CANCELLED", async () => {
    const exceeded = () =>
      router.metrics
        .renderPrometheus()
        .split("\n")
        .filter((l) => l.includes('code="DEADLINE_EXCEEDED"') && l.includes("agent-echo"))
        .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
    const before = exceeded();
    const request = toBinary(
      TaskRequestSchema,
      create(TaskRequestSchema, { agentId: "echo-agent", input: "hang" }),
    );
    // A caller whose own 400 ms timer fires first, as real clients' do: it resets the stream
    // 10 ms before the router's timer would end the call.
    const session = http2.connect(`http://${router.address}`);
    const stream = session.request({
      ":method": "POST",
      ":path": "/agentplatform.v1.AgentService/ExecuteTask",
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": "400m",
    });
    stream.on("error", () => {});
    stream.end(grpcFrame(request));
    const aborted = echo.nextAbort();
    await new Promise((r) => setTimeout(r, 390));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await aborted;
    session.close();
    expect(exceeded()).toBe(before + 1);
  });

  it("stops the backend's stream when the caller cancels it", async () => {
    const client = createClient(AgentService, grpcTransport(router.address));
    const aborted = echo.nextAbort();
    const abort = new AbortController();
    let received = 0;
    const consume = (async () => {
      for await (const _ of client.streamTask(
        { agentId: "echo-agent", parameters: { count: "1000" } },
        { signal: abort.signal },
      )) {
        received++;
        if (received === 3) abort.abort();
      }
    })();
    expect(await codeOf(consume)).toBe(Code.Canceled);
    await aborted;
    expect(received).toBe(3);
  });
});

describe("router answers", () => {
  it("lists agents, tools and workers from the registry with their Meta", async () => {
    const agents = await createClient(AgentService, grpcTransport(router.address)).listAgents({});
    const echoInfo = agents.agents.find((a) => a.agentId === "echo-agent");
    expect(echoInfo?.endpoint).toBe(echo.address);
    expect(echoInfo?.healthyInstances).toBe(1);
    expect(echoInfo?.version).toBe("1.0.0");
    const workers = await createClient(TaskWorker, grpcTransport(router.address)).listWorkers({});
    expect(workers.workers.map((w) => w.workerId)).toEqual(["itinerary-worker"]);
    expect(workers.workers[0]?.capabilities).toEqual(["planning", "travel"]);
    const tools = await createClient(ToolService, grpcTransport(router.address)).listTools({});
    expect(tools.tools.map((t) => [t.toolId, t.healthyInstances])).toEqual([["broken-tool", 0]]);
  });

  it("reports its own status and an agent's", async () => {
    const client = createClient(AgentService, grpcTransport(router.address));
    const own = await client.getStatus({});
    expect(own.id).toBe(router.routerId);
    // One routed service (tool-broken) has nothing healthy.
    expect(own.state).toBe(ServingState.DEGRADED);
    expect(own.backends.find((b) => b.service === "agent-echo")?.healthyInstances).toBe(1);
    const agent = await client.getStatus({ agentId: "echo-agent" });
    expect(agent.state).toBe(ServingState.SERVING);
    expect(await codeOf(client.getStatus({ agentId: "ghost-agent" }))).toBe(Code.NotFound);
  });

  it("explains routing through RouterAdmin", async () => {
    const admin = createClient(RouterAdmin, grpcTransport(router.address));
    const answer = await admin.resolve({ target: "echo-agent" });
    expect(answer.service).toBe("agent-echo");
    expect(answer.chosen?.port).toBe(echo.server.port);
    const stats = await admin.getRouterStats({});
    expect(stats.routerId).toBe(router.routerId);
    expect(Number(stats.totalCalls)).toBeGreaterThan(0);
  });
});

describe("router reflection", () => {
  it("describes the platform services it forwards, so grpcurl works without .proto files", async () => {
    const reflection = createClient(ServerReflection, grpcTransport(router.address));
    async function* ask() {
      yield { messageRequest: { case: "listServices" as const, value: "" } };
      yield {
        messageRequest: {
          case: "fileContainingSymbol" as const,
          value: "agentplatform.v1.ToolService",
        },
      };
    }
    const names: string[] = [];
    let descriptors = 0;
    for await (const res of reflection.serverReflectionInfo(ask())) {
      if (res.messageResponse.case === "listServicesResponse") {
        names.push(...res.messageResponse.value.service.map((s) => s.name));
      }
      if (res.messageResponse.case === "fileDescriptorResponse") {
        descriptors += res.messageResponse.value.fileDescriptorProto.length;
      }
    }
    expect(names).toEqual(
      expect.arrayContaining([
        "agentplatform.v1.AgentService",
        "agentplatform.v1.ToolService",
        "agentplatform.v1.TaskWorker",
        "agentplatform.v1.RouterAdmin",
      ]),
    );
    expect(descriptors).toBeGreaterThan(0);
  });
});
