import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import {
  AgentService,
  ListAgentsRequestSchema,
  TaskRequestSchema,
  TaskResponseSchema,
} from "../../gen/agentplatform/v1/platform_pb";
import { Health } from "../../gen/grpc/health/v1/health_pb";
import { EnvReader } from "../config";
import { type GrpcServer, startGrpcServer } from "../grpc-server";
import { createHealthStatusTable } from "../health";
import { createLogger } from "../log";
import {
  createBearerTokenInterceptor,
  createJwtAuthenticator,
  createJwtInterceptor,
  jwtClaimsKey,
} from "./jwt";
import { loadJwtAuthenticator, readJwtConfig } from "./jwt-config";
import { parseMethodRules } from "./jwt-policy";
import { signJwt } from "./jwt-token";

const logger = createLogger("test", { level: "error" });
const secret = "0123456789abcdef0123456789abcdef-test";
const exp = () => Math.floor(Date.now() / 1000) + 600;
const { rules } = parseMethodRules(
  "/agentplatform.v1.AgentService/ExecuteTask=scope:tasks.execute;/agentplatform.v1.AgentService/ListAgents=role:operator role:admin",
);
const auth = createJwtAuthenticator({
  secret: Buffer.from(secret),
  audience: "agent-platform",
  rules,
});
const token = (claims: Record<string, unknown>) =>
  signJwt({ aud: "agent-platform", exp: exp(), ...claims }, { alg: "HS256", secret });

function agentRoutes(router: ConnectRouter) {
  router.service(AgentService, {
    executeTask: (req, ctx) =>
      create(TaskResponseSchema, {
        taskId: req.taskId,
        output: `hello ${ctx.values.get(jwtClaimsKey)?.sub ?? "anonymous"}`,
        success: true,
      }),
    listAgents: () => ({ agents: [] }),
  });
}

let server: GrpcServer | undefined;
afterEach(async () => {
  await server?.close(100);
  server = undefined;
});

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return "OK";
  } catch (err) {
    return Code[ConnectError.from(err).code];
  }
};

describe("JWT interceptor on a Connect server", () => {
  it("answers UNAUTHENTICATED, PERMISSION_DENIED or serves, by token", async () => {
    const health = createHealthStatusTable();
    server = await startGrpcServer({
      routes: (r) => {
        health.routes(r);
        agentRoutes(r);
      },
      interceptors: [createJwtInterceptor(auth)],
      logger,
    });
    const client = (bearer?: string) =>
      createClient(
        AgentService,
        createGrpcTransport({
          baseUrl: `http://${server?.address}`,
          interceptors: bearer ? [createBearerTokenInterceptor(bearer)] : [],
        }),
      );
    const task = create(TaskRequestSchema, { taskId: "t1", agentId: "echo-agent", input: "x" });

    expect(await codeOf(client().executeTask(task))).toBe("Unauthenticated");
    expect(await codeOf(client("not-a-jwt").executeTask(task))).toBe("Unauthenticated");
    const wrongAudience = signJwt(
      { aud: "elsewhere", exp: exp(), scope: "tasks.execute" },
      { alg: "HS256", secret },
    );
    expect(await codeOf(client(wrongAudience).executeTask(task))).toBe("Unauthenticated");
    const expired = token({ exp: Math.floor(Date.now() / 1000) - 120, scope: "tasks.execute" });
    expect(await codeOf(client(expired).executeTask(task))).toBe("Unauthenticated");
    expect(await codeOf(client(token({ scope: "tools.run" })).executeTask(task))).toBe(
      "PermissionDenied",
    );
    const ok = await client(
      token({ sub: "gateway", scope: "tools.run tasks.execute" }),
    ).executeTask(task);
    expect(ok.output).toBe("hello gateway");

    // One of the listed roles is enough.
    const list = create(ListAgentsRequestSchema);
    expect(await codeOf(client(token({ roles: ["viewer"] })).listAgents(list))).toBe(
      "PermissionDenied",
    );
    expect(await codeOf(client(token({ roles: ["admin"] })).listAgents(list))).toBe("OK");

    // Health stays open so the registry's and load balancers' checks keep working.
    const healthClient = createClient(
      Health,
      createGrpcTransport({ baseUrl: `http://${server.address}` }),
    );
    expect(await codeOf(healthClient.check({ service: "" }))).toBe("OK");
  });

  it("with JWT_REQUIRED=false lets anonymous calls through only where no rule applies", async () => {
    const env = new EnvReader({
      JWT_SECRET: secret,
      JWT_REQUIRED: "false",
      JWT_METHOD_RULES: "/agentplatform.v1.AgentService/ExecuteTask=scope:tasks.execute",
    });
    const config = readJwtConfig(env);
    env.done("test");
    if (!config) throw new Error("config expected");
    server = await startGrpcServer({
      routes: agentRoutes,
      interceptors: [createJwtInterceptor(loadJwtAuthenticator(config))],
      logger,
    });
    const client = createClient(
      AgentService,
      createGrpcTransport({ baseUrl: `http://${server.address}` }),
    );
    expect(await codeOf(client.listAgents({}))).toBe("OK");
    expect(await codeOf(client.executeTask({ taskId: "t" }))).toBe("Unauthenticated");
  });
});

describe("authenticator answers for a token it has seen", () => {
  const execute = "/agentplatform.v1.AgentService/ExecuteTask";
  const list = "/agentplatform.v1.AgentService/ListAgents";

  it("stop accepting it once it expires, and not before it is valid", () => {
    let now = Date.now();
    const timed = createJwtAuthenticator({
      secret: Buffer.from(secret),
      audience: "agent-platform",
      rules,
      leewaySec: 0,
      clock: () => now,
    });
    const seconds = Math.floor(now / 1000);
    const bearer = `Bearer ${token({ scope: "tasks.execute", exp: seconds + 60 })}`;
    expect(timed.check(execute, bearer).allowed).toBe(true);
    expect(timed.check(execute, bearer).allowed).toBe(true);
    now += 61_000;
    expect(timed.check(execute, bearer)).toMatchObject({
      allowed: false,
      code: Code.Unauthenticated,
      message: "token has expired",
    });

    const later = `Bearer ${token({ scope: "tasks.execute", nbf: seconds + 120, exp: seconds + 600 })}`;
    expect(timed.check(execute, later)).toMatchObject({ message: "token is not valid yet" });
    now += 60_000;
    expect(timed.check(execute, later).allowed).toBe(true);
  });

  it("judge each method by its own rule, and never let a changed token ride on a good one", () => {
    const operator = token({ sub: "op", scope: "tasks.execute", roles: ["operator"] });
    const worker = token({ sub: "worker", scope: "tasks.execute" });
    expect(auth.check(execute, `Bearer ${operator}`)).toMatchObject({ claims: { sub: "op" } });
    expect(auth.check(list, `Bearer ${operator}`).allowed).toBe(true);
    expect(auth.check(execute, `Bearer ${worker}`)).toMatchObject({ claims: { sub: "worker" } });
    expect(auth.check(list, `Bearer ${worker}`)).toMatchObject({ code: Code.PermissionDenied });
    expect(auth.check(list, `Bearer ${worker}`)).toMatchObject({ code: Code.PermissionDenied });
    // The same header and payload with another signature.
    const forged = `${operator.slice(0, operator.lastIndexOf("."))}.${"A".repeat(43)}`;
    expect(auth.check(list, `Bearer ${forged}`)).toMatchObject({
      code: Code.Unauthenticated,
      message: "token signature is invalid",
    });
  });
});

describe("exec on agents", () => {
  const exec = "/agentplatform.v1.ExecService/Exec";

  it("needs the exec scope whatever the catch-all rule grants", () => {
    const { rules: platformOnly } = parseMethodRules("*=scope:platform");
    const guarded = createJwtAuthenticator({ secret: Buffer.from(secret), rules: platformOnly });
    const platform = `Bearer ${token({ sub: "svc", scope: "platform" })}`;
    expect(guarded.check(exec, platform)).toMatchObject({
      code: Code.PermissionDenied,
      message: `${exec}: missing scope exec`,
    });
    expect(guarded.check(exec, `Bearer ${token({ sub: "ops", scope: "exec" })}`)).toMatchObject({
      allowed: true,
      claims: { sub: "ops" },
    });
    // Even where tokens are optional, exec is not.
    const optional = createJwtAuthenticator({ secret: Buffer.from(secret), required: false });
    expect(optional.check(exec, undefined)).toMatchObject({ code: Code.Unauthenticated });
  });

  it("follows a rule that names ExecService itself", () => {
    const { rules: own } = parseMethodRules("/agentplatform.v1.ExecService/*=role:admin");
    const custom = createJwtAuthenticator({ secret: Buffer.from(secret), rules: own });
    expect(custom.check(exec, `Bearer ${token({ roles: ["admin"] })}`).allowed).toBe(true);
    expect(custom.check(exec, `Bearer ${token({ scope: "exec" })}`)).toMatchObject({
      code: Code.PermissionDenied,
    });
  });
});

describe("readJwtConfig", () => {
  it("names each bad variable", () => {
    const env = new EnvReader({
      JWT_SECRET: "short",
      JWT_METHOD_RULES: "ExecuteTask=scope:x;/a.B/C=group:y",
      JWT_PUBLIC_METHODS: "health",
    });
    readJwtConfig(env);
    let message = "";
    try {
      env.done("router");
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("JWT_SECRET must be at least 32 bytes");
    expect(message).toContain('JWT_METHOD_RULES: "ExecuteTask=scope:x"');
    expect(message).toContain('"group:y"');
    expect(message).toContain('JWT_PUBLIC_METHODS: "health"');
  });

  it("is off without keys, and refuses JWT_REQUIRED=true without one", () => {
    expect(readJwtConfig(new EnvReader({}))).toBeUndefined();
    const env = new EnvReader({ JWT_REQUIRED: "true" });
    readJwtConfig(env);
    expect(() => env.done("router")).toThrow(/JWT_REQUIRED=true needs JWT_SECRET/);
  });

  it("verifies RS256 tokens with the key at JWT_PUBLIC_KEY_PATH and checks the issuer", () => {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const dir = mkdtempSync(join(tmpdir(), "jwt-"));
    const path = join(dir, "jwt.pub.pem");
    writeFileSync(path, publicKey.export({ type: "spki", format: "pem" }));
    const env = new EnvReader({ JWT_PUBLIC_KEY_PATH: path, JWT_ISSUER: "platform-ca" });
    const config = readJwtConfig(env);
    env.done("test");
    if (!config) throw new Error("config expected");
    const verifier = loadJwtAuthenticator(config);
    const rs = (iss: string) => signJwt({ iss, exp: exp() }, { alg: "RS256", privateKey });
    const procedure = "/agentplatform.v1.AgentService/GetStatus";
    expect(verifier.check(procedure, `Bearer ${rs("platform-ca")}`).allowed).toBe(true);
    expect(verifier.check(procedure, `Bearer ${rs("someone-else")}`)).toMatchObject({
      allowed: false,
      code: Code.Unauthenticated,
    });
    expect(verifier.check(procedure, undefined)).toMatchObject({ allowed: false });
    expect(() =>
      loadJwtAuthenticator({ ...config, publicKeyPath: join(dir, "missing.pem") }),
    ).toThrow(/JWT_PUBLIC_KEY_PATH/);
  });
});
