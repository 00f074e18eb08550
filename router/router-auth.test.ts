// Service tokens on a real router: forwarded calls are refused before anything reaches a
// backend, the router's own methods need a token too, while health checks stay public and
// dial-in agents link with their own per-agent tokens.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentService, TaskRequestSchema } from "../gen/agentplatform/v1/platform_pb";
import { RouterAdmin } from "../gen/agentplatform/v1/router_admin_pb";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb";
import { createBearerTokenInterceptor } from "../platform/auth/jwt";
import { type JwtAuthConfig, readJwtConfig } from "../platform/auth/jwt-config";
import { signJwt } from "../platform/auth/jwt-token";
import { EnvReader } from "../platform/config";
import { createLogger } from "../platform/log";
import { eventually } from "../platform/test-support/eventually";
import { natAgent } from "../services/nat-agent/nat-agent";
import { type DialInAgent, runDialInAgent } from "../services/sdk/dial-in-agent";
import { linkedAgentsFactory } from "./agent-link/linked-agents-hub";
import { ensureLocalAgentToken } from "./agent-link/local-agent-tokens";
import type { Router } from "./router";
import {
  codeOf,
  grpcFrame,
  rawGrpcCall,
  startTestRegistry,
  startTestRouter,
  type TestRegistry,
} from "./test-support/cluster";
import { type EchoBackend, startEchoBackend } from "./test-support/echo-backend";

const secret = "router-token-test-secret-0123456789abcdef";

function jwtConfig(): JwtAuthConfig {
  const env = new EnvReader({
    JWT_SECRET: secret,
    JWT_AUDIENCE: "agent-platform",
    JWT_METHOD_RULES: "/agentplatform.v1.RouterAdmin/*=role:admin;*=scope:platform",
  });
  const config = readJwtConfig(env);
  env.done("test");
  if (!config) throw new Error("JWT config expected");
  return config;
}

function token(claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    { sub: "test", aud: "agent-platform", scope: "platform", exp: now + 300, ...claims },
    { alg: "HS256", secret },
  );
}

const transport = (address: string, bearer?: string) =>
  createGrpcTransport({
    baseUrl: `http://${address}`,
    interceptors: bearer ? [createBearerTokenInterceptor(bearer)] : [],
  });

const taskFrame = (agentId: string) =>
  grpcFrame(toBinary(TaskRequestSchema, create(TaskRequestSchema, { agentId, input: "x" })));

let dir: string;
let registry: TestRegistry;
let echo: EchoBackend;
let router: Router;
let nat: DialInAgent | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "router-auth-"));
  ensureLocalAgentToken("nat-agent", dir);
  registry = await startTestRegistry();
  echo = await startEchoBackend({ consul: registry.consul });
  router = await startTestRouter(registry.consul, {
    auth: jwtConfig(),
    linkedAgents: linkedAgentsFactory({ tokens: { path: join(dir, "agent-link", "tokens") } }),
  });
  const agents = createClient(AgentService, transport(router.address, token()));
  await eventually(() => agents.executeTask({ agentId: "echo-agent", input: "ready?" }));
});

afterAll(async () => {
  await nat?.stop();
  await router?.close(500);
  await echo?.stop("hard");
  await registry?.registry.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("router with service tokens: forwarded calls", () => {
  it("refuses a call without a token, Trailers-Only, before any stream reaches the backend", async () => {
    const streamsBefore = echo.streams;
    const answer = await rawGrpcCall(
      router.address,
      "/agentplatform.v1.AgentService/ExecuteTask",
      taskFrame("echo-agent"),
    );
    expect(answer.status).toBe(Code.Unauthenticated);
    expect(answer.message).toBe("missing bearer token");
    // The status is in the first and only HEADERS frame, where every client and proxy reads it.
    expect(answer.headers["grpc-status"]).toBe(String(Code.Unauthenticated));
    expect(answer.body.length).toBe(0);
    expect(echo.streams).toBe(streamsBefore);
  });

  it("refuses a token for another audience, and one without the scope", async () => {
    const streamsBefore = echo.streams;
    const elsewhere = createClient(
      AgentService,
      transport(router.address, token({ aud: "another-platform" })),
    );
    const wrongAudience = await elsewhere
      .executeTask({ agentId: "echo-agent", input: "x" })
      .catch((e: unknown) => ConnectError.from(e));
    expect(wrongAudience).toMatchObject({ code: Code.Unauthenticated });
    expect((wrongAudience as ConnectError).rawMessage).toContain("audience");

    const unscoped = createClient(AgentService, transport(router.address, token({ scope: "" })));
    const denied = await unscoped
      .executeTask({ agentId: "echo-agent", input: "x" })
      .catch((e: unknown) => ConnectError.from(e));
    expect(denied).toMatchObject({ code: Code.PermissionDenied });
    expect((denied as ConnectError).rawMessage).toContain("missing scope platform");
    const streamed = async () => {
      for await (const _ of unscoped.streamTask({ agentId: "echo-agent" })) {
        // a refused stream yields nothing
      }
    };
    expect(await codeOf(streamed())).toBe(Code.PermissionDenied);
    expect(echo.streams).toBe(streamsBefore);
  });

  it("serves a good token and passes its authorization header to the backend untouched", async () => {
    const bearer = token({ sub: "caller-1" });
    const agents = createClient(AgentService, transport(router.address, bearer));
    const res = await agents.executeTask({ agentId: "echo-agent", input: "with token" });
    expect(res.output).toBe("Echo: with token");
    expect(echo.lastAuthorization).toBe(`Bearer ${bearer}`);
    const steps: string[] = [];
    for await (const msg of agents.streamTask({
      agentId: "echo-agent",
      parameters: { count: "3" },
    })) {
      steps.push(msg.output);
    }
    expect(steps).toEqual(["step 0", "step 1", "step 2"]);
  });
});

describe("router with service tokens: its own methods", () => {
  it("keeps grpc.health.v1 public for registry and load-balancer checks", async () => {
    const health = createClient(Health, transport(router.address));
    expect((await health.check({ service: "" })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });

  it("needs a token for ListAgents and GetStatus, and the admin role for RouterAdmin", async () => {
    const anonymous = createClient(AgentService, transport(router.address));
    expect(await codeOf(anonymous.listAgents({}))).toBe(Code.Unauthenticated);
    expect(await codeOf(anonymous.getStatus({}))).toBe(Code.Unauthenticated);
    const agents = createClient(AgentService, transport(router.address, token()));
    const listed = await agents.listAgents({});
    expect(listed.agents.map((a) => a.agentId)).toContain("echo-agent");

    const operator = createClient(RouterAdmin, transport(router.address, token()));
    expect(await codeOf(operator.getRouterStats({}))).toBe(Code.PermissionDenied);
    const admin = createClient(RouterAdmin, transport(router.address, token({ roles: ["admin"] })));
    expect((await admin.getRouterStats({})).routerId).toBe(router.routerId);
  });

  it("lets a dial-in agent link with its own agent token; calls to it need a service token", async () => {
    nat = runDialInAgent({
      routerAddress: router.address,
      token: ensureLocalAgentToken("nat-agent", dir).token,
      agent: natAgent,
      backoff: { initialMs: 200, maxMs: 1000 },
      logger: createLogger("test", { write: () => {} }),
    });
    await nat.ready();
    const task = {
      agentId: "nat-agent",
      input: "hi there. bye.",
      parameters: { mode: "uppercase" },
    };
    const agents = createClient(AgentService, transport(router.address, token()));
    const res = await eventually(() => agents.executeTask(task));
    expect(res.output).toBe("HI THERE. BYE.");
    const anonymous = createClient(AgentService, transport(router.address));
    expect(await codeOf(anonymous.executeTask(task))).toBe(Code.Unauthenticated);
  });
});
