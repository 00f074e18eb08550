import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import {
  type EmbeddedRegistry,
  startEmbeddedRegistry,
} from "../../registry/embedded/embedded-registry";
import { createLogger } from "../log";
import { ConsulError, createConsulClient, normaliseConsulAddress } from "./consul-client";

const logger = createLogger("test", { level: "error" });
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function registry(): Promise<EmbeddedRegistry> {
  const r = await startEmbeddedRegistry({ logger });
  cleanups.push(() => r.close());
  return r;
}

/** A registry stand-in that records requests and answers as told. */
async function recorder(reply: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const requests: { url: string; method: string; token: string | undefined; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => {
      const token = req.headers["x-consul-token"];
      requests.push({
        url: req.url ?? "",
        method: req.method ?? "",
        token: typeof token === "string" ? token : undefined,
        body,
      });
      reply(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { requests, address: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("consul client", () => {
  it("normalises addresses with or without a scheme", () => {
    expect(normaliseConsulAddress("127.0.0.1:8500")).toBe("http://127.0.0.1:8500");
    expect(normaliseConsulAddress("https://consul.example:8501/")).toBe(
      "https://consul.example:8501",
    );
  });

  it("sends the ACL token and Consul's query parameters", async () => {
    const fake = await recorder((_req, res) => {
      res.writeHead(200, { "X-Consul-Index": "42" }).end("[]");
    });
    const consul = createConsulClient({ address: fake.address, token: "secret" });
    const answer = await consul.healthService("agent echo", {
      passing: true,
      index: 7,
      wait: "30s",
    });
    expect(answer).toEqual({ value: [], index: 42 });
    expect(fake.requests[0]).toMatchObject({
      method: "GET",
      url: "/v1/health/service/agent%20echo?passing=true&index=7&wait=30s",
      token: "secret",
    });
    await consul.updateTtlCheck("service:x", "warning", "slow");
    expect(fake.requests[1]).toMatchObject({
      method: "PUT",
      url: "/v1/agent/check/update/service%3Ax",
    });
    expect(JSON.parse(fake.requests[1]?.body ?? "")).toEqual({ Status: "warning", Output: "slow" });
  });

  it("reports HTTP failures with the status and the registry's reason", async () => {
    const r = await registry();
    const consul = createConsulClient({ address: r.address });
    const err = await consul.register({ Name: "" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsulError);
    expect((err as ConsulError).status).toBe(400);
    expect((err as ConsulError).message).toContain("Missing service name");
  });

  it("reports an unreachable registry as status 0", async () => {
    const r = await registry();
    const address = r.address;
    await r.close();
    const consul = createConsulClient({ address, timeoutMs: 2000 });
    const err = await consul.ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsulError);
    expect((err as ConsulError).status).toBe(0);
    expect((err as ConsulError).message).toContain("unreachable");
  });

  it("lets a blocking query outlive the short request timeout", async () => {
    const r = await registry();
    const consul = createConsulClient({ address: r.address, timeoutMs: 200 });
    const { index } = await consul.catalogServices();
    const started = Date.now();
    const answer = await consul.catalogServices({ index, wait: "1s" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(answer.index).toBe(index);
  });

  it("describes the embedded agent", async () => {
    const r = await registry();
    const self = await createConsulClient({ address: r.address }).agentSelf();
    expect(self.Config).toMatchObject({ Datacenter: "dc1", Version: "embedded" });
  });
});
