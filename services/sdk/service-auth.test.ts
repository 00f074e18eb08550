// Service tokens end to end: services started from JWT_* refuse calls without a valid token,
// through a router that forwards the caller's authorization header, while health checks and
// reflection stay public; the SDK's platform client sends its own token when calling onwards.
import { Code, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentService } from "../../gen/agentplatform/v1/platform_pb";
import { Health } from "../../gen/grpc/health/v1/health_pb";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb";
import { createBearerTokenInterceptor } from "../../platform/auth/jwt";
import { signJwt } from "../../platform/auth/jwt-token";
import type { ConsulClient } from "../../platform/consul/consul-client";
import { ServingStatus } from "../../platform/health";
import { eventually } from "../../platform/test-support/eventually";
import type { EmbeddedRegistry } from "../../registry/embedded/embedded-registry";
import type { Router } from "../../router/router";
import { startTestRouter } from "../../router/test-support/cluster";
import { echoAgent } from "../echo/echo-agent";
import { defineAgent, defineTool, type RunningService, readServiceConfig, startService } from ".";
import { codeOf, quietLogger, startTestRegistry } from "./test-support/test-services";

const secret = "service-token-test-secret-0123456789abcdef";
const jwtEnv = {
  JWT_SECRET: secret,
  JWT_AUDIENCE: "agent-platform",
  JWT_ISSUER: "platform-test",
  JWT_METHOD_RULES: "*=scope:platform",
};

/** A token for the platform, with overrides. */
function token(claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    {
      sub: "test-client",
      aud: "agent-platform",
      iss: "platform-test",
      scope: "platform",
      iat: now,
      exp: now + 300,
      ...claims,
    },
    { alg: "HS256", secret },
  );
}

/** Answers with the weather tool's answer, reached through the routers with its own token. */
const relayAgent = defineAgent({
  name: "relay",
  description: "Calls the sky tool through the routers.",
  capabilities: ["relay"],
  async executeTask(request, ctx) {
    const res = await ctx.platform.tools.executeTool(
      { toolId: "sky-tool", operation: "colour", parameters: { of: request.input } },
      { signal: ctx.signal, timeoutMs: 5000 },
    );
    return { output: res.outputJson };
  },
});

const skyTool = defineTool({
  name: "sky",
  description: "Says what colour the sky is.",
  operations: ["colour"],
  executeTool: (call, ctx) => ({
    result: {
      colour: "blue",
      of: call.parameters.of,
      caller: ctx.requestHeader.has("authorization"),
    },
  }),
});

/** Service settings as runService reads them from the environment. */
const configFrom = (name: string, env: Record<string, string>) =>
  readServiceConfig(name, 0, { ...env, METRICS_PORT: "-1" });

let registry: EmbeddedRegistry;
let consul: ConsulClient;
let router: Router;
/** A router that is not in the registry: only discovery strategies can find it. */
let hiddenRouter: Router;
const services: RunningService[] = [];

const through = (interceptors: Interceptor[] = []) =>
  createGrpcTransport({ baseUrl: `http://${router.address}`, interceptors });
const withToken = (t: string) => through([createBearerTokenInterceptor(t)]);

beforeAll(async () => {
  ({ registry, consul } = await startTestRegistry());
  router = await startTestRouter(consul);
  hiddenRouter = await startTestRouter(consul, { register: false });
  const start = async (
    definition: Parameters<typeof startService>[0],
    env: Record<string, string>,
  ) => {
    const config = configFrom(definition.name, env);
    const service = await startService(definition, {
      ...config,
      consulAddress: registry.address,
      logger: quietLogger,
      drainDelayMs: 0,
    });
    services.push(service);
    return service;
  };
  await start(echoAgent, jwtEnv);
  await start(skyTool, jwtEnv);
  await start(relayAgent, { ...jwtEnv, SERVICE_TOKEN_SCOPES: "platform" });
  // A relay whose onward calls carry a token without the scope the tool requires.
  await start(defineAgent({ ...relayAgent, name: "unscoped-relay" }), jwtEnv);
  // A relay that finds its routers from GRPC_STATIC_ENDPOINTS instead of the registry.
  await start(defineAgent({ ...relayAgent, name: "static-relay" }), {
    ...jwtEnv,
    SERVICE_TOKEN_SCOPES: "platform",
    GRPC_DISCOVERY_ORDER: "static",
    GRPC_STATIC_ENDPOINTS: hiddenRouter.address,
  });
  // The services turn healthy in the registry: its gRPC checks pass without a token.
  for (const name of [
    "agent-echo",
    "tool-sky",
    "agent-relay",
    "agent-unscoped-relay",
    "agent-static-relay",
  ]) {
    await eventually(
      async () => {
        const answer = await consul.healthService(name, { passing: true });
        return answer.value.length > 0;
      },
      { what: name },
    );
  }
}, 30_000);

afterAll(async () => {
  for (const s of services) await s.stop(100);
  await router?.close(100);
  await hiddenRouter?.close(100);
  await registry?.close();
});

describe("service tokens through a router", () => {
  const echo = (transport: ReturnType<typeof through>) =>
    createClient(AgentService, transport).executeTask(
      { agentId: "echo-agent", input: "hi" },
      { timeoutMs: 5000 },
    );

  it("serves a call with a valid token carrying the required scope", async () => {
    expect((await echo(withToken(token()))).output).toBe("Echo: hi");
  });

  it("answers UNAUTHENTICATED without a token, or with one for another audience, issuer or key", async () => {
    expect(await codeOf(echo(through()))).toBe(Code.Unauthenticated);
    expect(await codeOf(echo(withToken(token({ aud: "someone-else" }))))).toBe(
      Code.Unauthenticated,
    );
    expect(await codeOf(echo(withToken(token({ iss: "elsewhere" }))))).toBe(Code.Unauthenticated);
    expect(await codeOf(echo(withToken(token({ exp: Math.floor(Date.now() / 1000) - 600 }))))).toBe(
      Code.Unauthenticated,
    );
    const forged = signJwt(
      { aud: "agent-platform", iss: "platform-test", scope: "platform", exp: 9_999_999_999 },
      { alg: "HS256", secret: "another-secret-that-is-long-enough-000000" },
    );
    expect(await codeOf(echo(withToken(forged)))).toBe(Code.Unauthenticated);
  });

  it("answers PERMISSION_DENIED for a valid token without the required scope", async () => {
    expect(await codeOf(echo(withToken(token({ scope: "tasks.read" }))))).toBe(
      Code.PermissionDenied,
    );
  });

  it("keeps health checks and reflection public", async () => {
    const direct = createGrpcTransport({ baseUrl: `http://${services[0]?.address}` });
    const health = await createClient(Health, direct).check({ service: "" });
    expect(health.status).toBe(ServingStatus.SERVING);
    const reflection = createClient(ServerReflection, direct);
    async function* listServices() {
      yield { messageRequest: { case: "listServices" as const, value: "" } };
    }
    const names: string[] = [];
    for await (const res of reflection.serverReflectionInfo(listServices())) {
      if (res.messageResponse.case === "listServicesResponse") {
        names.push(...res.messageResponse.value.service.map((s) => s.name));
      }
    }
    expect(names).toContain("agentplatform.v1.AgentService");
    // The service itself is not public.
    expect(
      await codeOf(createClient(AgentService, direct).executeTask({ agentId: "echo-agent" })),
    ).toBe(Code.Unauthenticated);
  });
});

describe("the SDK's platform client sends a service token", () => {
  const relay = (agentId: string) =>
    createClient(AgentService, withToken(token())).executeTask(
      { agentId, input: "Lisbon" },
      { timeoutMs: 8000 },
    );

  it("calls a tool through the router with a token minted from JWT_SECRET", async () => {
    const res = await relay("relay-agent");
    expect(JSON.parse(res.output)).toEqual({ colour: "blue", of: "Lisbon", caller: true });
  });

  it("is refused by the tool when its minted token lacks the scope", async () => {
    expect(await codeOf(relay("unscoped-relay-agent"))).toBe(Code.PermissionDenied);
  });

  it("reaches the routers named in GRPC_STATIC_ENDPOINTS when discovery is configured", async () => {
    const toolCalls = () =>
      hiddenRouter.metrics
        .renderPrometheus()
        .split("\n")
        .filter((l) => l.startsWith("router_calls_total") && l.includes('ExecuteTool"'))
        .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
    const before = toolCalls();
    const res = await relay("static-relay-agent");
    expect(JSON.parse(res.output)).toMatchObject({ colour: "blue", caller: true });
    expect(toolCalls()).toBe(before + 1);
  });

  it("reads the token settings from the environment, naming bad values", () => {
    expect(configFrom("agent-x", { SERVICE_TOKEN: "abc" }).serviceToken).toEqual({
      kind: "static",
      token: "abc",
    });
    expect(configFrom("agent-x", jwtEnv).serviceToken).toMatchObject({
      kind: "minted",
      subject: "agent-x",
      audience: "agent-platform",
      issuer: "platform-test",
      scopes: [],
    });
    expect(() => configFrom("agent-x", { SERVICE_TOKEN_SCOPES: "platform" })).toThrow(
      /SERVICE_TOKEN_SCOPES and SERVICE_TOKEN_ROLES need JWT_SECRET/,
    );
  });
});
