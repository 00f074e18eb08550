import * as http from "node:http";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConsoleService, Role } from "../gen/agentplatform/v1/console_pb";
import { ConfigError } from "../platform/config";
import { createConsulClient } from "../platform/consul/consul-client";
import {
  type EmbeddedRegistry,
  startEmbeddedRegistry,
} from "../registry/embedded/embedded-registry";
import { type Gateway, isLoopbackHost, startGateway } from "./gateway";
import { quietLogger } from "./test-support/test-cluster";

let registry: EmbeddedRegistry;
let gateway: Gateway;
let baseUrl: string;

beforeAll(async () => {
  registry = await startEmbeddedRegistry({ logger: quietLogger });
  gateway = await startGateway({
    consul: createConsulClient({ address: registry.address }),
    corsOrigins: ["http://localhost:3000"],
    registryWait: "5s",
    limits: { maxMessageBytes: 2048 },
    gatewayLimits: { maxStreamsPerIp: 3 },
    logger: quietLogger,
  });
  baseUrl = `http://${gateway.http.address}`;
});

afterAll(async () => {
  await gateway?.close(100);
  await registry?.close();
});

/** A raw HTTP/1.1 request, so the test controls the Origin header as a browser would send it. */
function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("browser endpoint", () => {
  it("serves ConsoleService to Connect and gRPC-Web over HTTP/1.1 (fetch) and gRPC over HTTP/2", async () => {
    const transports = {
      connect: createConnectTransport({ baseUrl }),
      grpcWeb: createGrpcWebTransport({ baseUrl }),
      grpc: createGrpcTransport({ baseUrl }),
    };
    for (const [name, transport] of Object.entries(transports)) {
      const session = await createClient(ConsoleService, transport).getSession({});
      expect(session.authEnabled, name).toBe(false);
      expect(session.role, name).toBe(Role.ADMIN);
      expect(session.registry, name).toBe(`embedded ${registry.address}`);
      expect(session.gatewayVersion, name).not.toBe("");
      const services = await createClient(ConsoleService, transport).listServices({});
      expect(services.index, name).toBeGreaterThan(0n);
    }
  });

  it("answers CORS preflights for allowlisted origins with what Connect and gRPC-Web need", async () => {
    const res = await rawRequest("OPTIONS", "/agentplatform.v1.ConsoleService/GetSession", {
      origin: "http://localhost:3000",
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type,x-grpc-web,authorization",
    });
    expect(res.status).toBe(204);
    expect(res.headers["access-control-allow-origin"]).toBe("http://localhost:3000");
    const allowed = String(res.headers["access-control-allow-headers"]).toLowerCase();
    for (const h of ["content-type", "x-grpc-web", "authorization", "connect-protocol-version"]) {
      expect(allowed).toContain(h);
    }
    expect(res.headers["access-control-allow-methods"]).toContain("POST");

    const call = await rawRequest(
      "POST",
      "/agentplatform.v1.ConsoleService/GetSession",
      { origin: "http://localhost:3000", "content-type": "application/json" },
      "{}",
    );
    expect(call.status).toBe(200);
    expect(call.headers["access-control-allow-origin"]).toBe("http://localhost:3000");
    expect(String(call.headers["access-control-expose-headers"])).toContain("Grpc-Status");
    expect(JSON.parse(call.body)).toMatchObject({ registry: `embedded ${registry.address}` });
  });

  it("gives other origins no CORS headers and does not run their requests", async () => {
    const preflight = await rawRequest("OPTIONS", "/agentplatform.v1.ConsoleService/Invoke", {
      origin: "http://evil.example",
      "access-control-request-method": "POST",
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
    const call = await rawRequest(
      "POST",
      "/agentplatform.v1.ConsoleService/ListAuditEntries",
      { origin: "http://evil.example", "content-type": "application/json" },
      "{}",
    );
    expect(call.status).toBe(403);
    expect(call.headers["access-control-allow-origin"]).toBeUndefined();
    expect(call.body).toContain("GATEWAY_CORS_ORIGINS");
  });

  it("limits requests in progress per client IP and frees the slot when a stream ends", async () => {
    const client = createClient(ConsoleService, createConnectTransport({ baseUrl }));
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const firsts = controllers.map(async (c) => {
      const it = client.watchServices({}, { signal: c.signal })[Symbol.asyncIterator]();
      await it.next();
      return it;
    });
    await Promise.all(firsts);
    const refused = await client.listServices({}).catch((e: unknown) => ConnectError.from(e));
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((refused as ConnectError).message).toContain("at most 3 at once");
    for (const c of controllers) c.abort();
    const deadline = Date.now() + 5000;
    let ok = false;
    while (!ok && Date.now() < deadline) {
      ok = await client.listServices({}).then(
        () => true,
        () => false,
      );
    }
    expect(ok).toBe(true);
  });

  it("refuses messages over the size limit with RESOURCE_EXHAUSTED", async () => {
    const client = createClient(ConsoleService, createGrpcWebTransport({ baseUrl }));
    const err = await client
      .invoke({
        method: "/agentplatform.v1.AgentService/ExecuteTask",
        requestJson: "x".repeat(4096),
      })
      [Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
  });

  it("rate limits runs per caller with a message saying so", async () => {
    const limited = await startGateway({
      consul: createConsulClient({ address: registry.address }),
      gatewayLimits: { runsPerSecond: 1, runBurst: 2 },
      logger: quietLogger,
    });
    const client = createClient(
      ConsoleService,
      createConnectTransport({ baseUrl: `http://${limited.http.address}` }),
    );
    const codes: Code[] = [];
    for (let i = 0; i < 4; i++) {
      const err = await client
        .invoke({ method: "/nope.Service/Missing" })
        [Symbol.asyncIterator]()
        .next()
        .catch((e: unknown) => ConnectError.from(e));
      codes.push((err as ConnectError).code);
      if ((err as ConnectError).code === Code.ResourceExhausted) {
        expect((err as ConnectError).message).toMatch(/rate limit: at most 1 runs a second/);
      }
    }
    await limited.close(100);
    expect(codes.slice(0, 2)).toEqual([Code.NotFound, Code.NotFound]);
    expect(codes).toContain(Code.ResourceExhausted);
  });
});

describe("binding", () => {
  it("refuses a non-loopback address when no tokens are configured", async () => {
    const err = await startGateway({
      host: "0.0.0.0",
      consul: createConsulClient({ address: registry.address }),
      logger: quietLogger,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain("GATEWAY_TOKENS");
    expect(isLoopbackHost("127.0.0.1")).toBe(true);
    expect(isLoopbackHost("::1")).toBe(true);
    expect(isLoopbackHost("localhost")).toBe(true);
    expect(isLoopbackHost("::")).toBe(false);
    expect(isLoopbackHost("192.168.1.10")).toBe(false);
  });
});
