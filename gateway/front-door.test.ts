import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentService } from "../gen/agentplatform/v1/platform_pb";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb";
import { createBearerTokenInterceptor } from "../platform/auth/jwt";
import { readJwtConfig } from "../platform/auth/jwt-config";
import { signJwt } from "../platform/auth/jwt-token";
import { EnvReader } from "../platform/config";
import { eventually } from "../platform/test-support/eventually";
import type { Router } from "../router/router";
import {
  grpcTransport,
  quietLogger,
  startTestRegistry,
  startTestRouter,
  type TestRegistry,
  waitRoutable,
} from "../router/test-support/cluster";
import { type EchoBackend, startEchoBackend } from "../router/test-support/echo-backend";
import { type FrontDoor, startFrontDoor } from "./front-door";

let registry: TestRegistry;
let backend: EchoBackend;
let routers: Router[] = [];
let door: FrontDoor;

beforeAll(async () => {
  registry = await startTestRegistry();
  backend = await startEchoBackend({ consul: registry.consul });
  routers = [await startTestRouter(registry.consul), await startTestRouter(registry.consul)];
  door = await startFrontDoor({
    consul: registry.consul,
    logger: quietLogger,
    watch: { maxBackoffMs: 300, wait: "5s" },
  });
  await waitRoutable(door.address);
  await eventually(async () => expect(door.routers()).toHaveLength(2));
});

afterAll(async () => {
  await door?.close(500);
  for (const r of routers) await r.close(500);
  await backend?.stop("hard");
  await registry?.registry.close();
});

describe("gRPC front door", () => {
  it("carries an unmodified grpc-js client's call through a router to a backend", async () => {
    const definition = await protoLoader.load(
      fileURLToPath(new URL("../proto/agentplatform/v1/platform.proto", import.meta.url)),
      { keepCase: true, defaults: true },
    );
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      agentplatform: { v1: { AgentService: grpc.ServiceClientConstructor } };
    };
    const client = new loaded.agentplatform.v1.AgentService(
      door.address,
      grpc.credentials.createInsecure(),
    );
    try {
      const output = await new Promise<string>((resolve, reject) => {
        client.ExecuteTask(
          { task_id: "task-123", agent_id: "echo-agent", input: "Hello, World!" },
          (err: grpc.ServiceError | null, res: { output: string }) =>
            err ? reject(err) : resolve(res.output),
        );
      });
      expect(output).toBe("Echo: Hello, World!");
      const missing = await new Promise<grpc.ServiceError | null>((resolve) => {
        client.ExecuteTask(
          { agent_id: "nobody-agent", input: "x" },
          (err: grpc.ServiceError | null) => resolve(err),
        );
      });
      expect(missing?.code).toBe(grpc.status.NOT_FOUND);
    } finally {
      client.close();
    }
  });

  it("serves its own grpc.health.v1", async () => {
    const health = createClient(Health, grpcTransport(door.address));
    expect((await health.check({ service: "" })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });

  it("loses no call while a router behind it drains and stops under load", async () => {
    const client = createClient(AgentService, grpcTransport(door.address));
    let ok = 0;
    const failures: string[] = [];
    let stop = false;
    const worker = async (n: number) => {
      for (let i = 0; !stop && i < 5000; i++) {
        try {
          const res = await client.executeTask(
            { agentId: "echo-agent", input: `w${n}-${i}` },
            { timeoutMs: 5000 },
          );
          if (res.output === `Echo: w${n}-${i}`) ok++;
          else failures.push(`wrong answer ${res.output}`);
        } catch (err) {
          failures.push(ConnectError.from(err).message);
        }
      }
    };
    const load = Promise.all([0, 1, 2, 3, 4, 5].map(worker));
    await eventually(async () => expect(ok).toBeGreaterThan(200));
    const leaving = routers[0] as Router;
    const before = ok;
    await leaving.close(3000);
    await eventually(async () => expect(ok).toBeGreaterThan(before + 300));
    stop = true;
    await load;
    expect(failures).toEqual([]);
    expect(door.routers()).toEqual([(routers[1] as Router).address]);
    // What is left still routes.
    expect((await client.executeTask({ agentId: "echo-agent", input: "after" })).output).toBe(
      "Echo: after",
    );
    expect(
      await client.executeTask({ agentId: "", input: "x" }).catch((e) => ConnectError.from(e).code),
    ).toBe(Code.InvalidArgument);
  });
});

describe("gRPC front door with service tokens", () => {
  const secret = "front-door-test-secret-0123456789abcdef";
  const bearer = (claims: Record<string, unknown> = {}) =>
    signJwt(
      {
        sub: "edge-test",
        aud: "agent-platform",
        scope: "platform",
        exp: Math.floor(Date.now() / 1000) + 300,
        ...claims,
      },
      { alg: "HS256", secret },
    );
  const via = (address: string, token?: string) =>
    createClient(
      AgentService,
      createGrpcTransport({
        baseUrl: `http://${address}`,
        interceptors: token ? [createBearerTokenInterceptor(token)] : [],
      }),
    );
  let guarded: FrontDoor;

  beforeAll(async () => {
    // The same JWT_* a gateway process reads; the routers behind it check nothing here, so
    // whatever is refused was refused at the edge.
    const env = new EnvReader({
      JWT_SECRET: secret,
      JWT_AUDIENCE: "agent-platform",
      JWT_METHOD_RULES: "*=scope:platform",
    });
    const auth = readJwtConfig(env);
    env.done("test");
    if (!auth) throw new Error("JWT config expected");
    guarded = await startFrontDoor({
      consul: registry.consul,
      logger: quietLogger,
      watch: { maxBackoffMs: 300, wait: "5s" },
      auth,
    });
    const agents = via(guarded.address, bearer());
    await eventually(() => agents.executeTask({ agentId: "echo-agent", input: "ready?" }));
  });

  afterAll(async () => {
    await guarded?.close(500);
  });

  it("refuses calls without a valid token before any router or backend sees them", async () => {
    const streamsBefore = backend.streams;
    const anonymous = await via(guarded.address)
      .executeTask({ agentId: "echo-agent", input: "x" })
      .catch((e: unknown) => ConnectError.from(e));
    expect(anonymous).toMatchObject({
      code: Code.Unauthenticated,
      rawMessage: "missing bearer token",
    });
    const forged = await via(guarded.address, bearer({ aud: "elsewhere" }))
      .executeTask({ agentId: "echo-agent", input: "x" })
      .catch((e: unknown) => ConnectError.from(e));
    expect(forged).toMatchObject({ code: Code.Unauthenticated });
    const unscoped = await via(guarded.address, bearer({ scope: "" }))
      .executeTask({ agentId: "echo-agent", input: "x" })
      .catch((e: unknown) => ConnectError.from(e));
    expect(unscoped).toMatchObject({ code: Code.PermissionDenied });
    expect(backend.streams).toBe(streamsBefore);
  });

  it("passes a good token's call, authorization header included, through to the backend", async () => {
    const token = bearer({ sub: "edge-caller" });
    const res = await via(guarded.address, token).executeTask({
      agentId: "echo-agent",
      input: "through the edge",
    });
    expect(res.output).toBe("Echo: through the edge");
    expect(backend.lastAuthorization).toBe(`Bearer ${token}`);
  });

  it("keeps its health check public", async () => {
    const health = createClient(Health, grpcTransport(guarded.address));
    expect((await health.check({ service: "" })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });
});
