import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ConsulClient, createConsulClient } from "../../platform/consul/consul-client";
import type { CheckDefinition, HealthCheckEntry } from "../../platform/consul/consul-types";
import { type GrpcServer, startGrpcServer } from "../../platform/grpc-server";
import { createHealthStatusTable, ServingStatus } from "../../platform/health";
import { createLogger } from "../../platform/log";
import { eventually } from "../../platform/test-support/eventually";
import type { TlsFiles } from "../../platform/tls";
import { type EmbeddedRegistry, startEmbeddedRegistry } from "./embedded-registry";

const logger = createLogger("test", { level: "error" });
let registry: EmbeddedRegistry;
let consul: ConsulClient;
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  registry = await startEmbeddedRegistry({
    logger,
    minCheckIntervalMs: 50,
    reapIntervalMs: 100,
    checkTimeoutMs: 2000,
  });
  consul = createConsulClient({ address: registry.address });
});
afterEach(async () => {
  await registry.close();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function register(id: string, check: CheckDefinition) {
  await consul.register({ ID: id, Name: id, Check: { CheckID: id, ...check } });
}

async function checkOf(id: string): Promise<HealthCheckEntry | undefined> {
  const { value } = await consul.healthService(id);
  return value[0]?.Checks.find((c) => c.CheckID === id);
}

/** Waits until the check reports `status`, and returns its output. */
async function statusBecomes(id: string, status: string, timeoutMs = 8000): Promise<string> {
  const check = await eventually(
    async () => {
      const c = await checkOf(id);
      return c?.Status === status ? c : false;
    },
    { timeoutMs, what: `${id} ${status}` },
  );
  return check.Output;
}

async function grpcServer(services: string[] = [], tls?: TlsFiles) {
  const health = createHealthStatusTable(services);
  const server: GrpcServer = await startGrpcServer({
    routes: health.routes,
    logger,
    ...(tls ? { tls } : {}),
  });
  cleanups.push(() => server.close(100));
  return { health, server };
}

describe("gRPC checks", () => {
  it("pass against a serving server, fail on NOT_SERVING and when the server stops", async () => {
    const { health, server } = await grpcServer();
    await register("agent-echo", { GRPC: server.address, Interval: "100ms" });
    expect(await statusBecomes("agent-echo", "passing")).toBe(
      `gRPC check ${server.address}: success`,
    );
    expect((await consul.healthService("agent-echo", { passing: true })).value).toHaveLength(1);

    health.set("", ServingStatus.NOT_SERVING);
    expect(await statusBecomes("agent-echo", "critical")).toContain("NOT_SERVING");
    expect((await consul.healthService("agent-echo", { passing: true })).value).toEqual([]);

    health.set("", ServingStatus.SERVING);
    await statusBecomes("agent-echo", "passing");
    await server.close(100);
    expect(await statusBecomes("agent-echo", "critical")).toMatch(
      /^Health check failed: rpc error: code = Unavailable/,
    );

    // The instance restarts on the same port: the check reconnects and passes again.
    const restarted = await startGrpcServer({
      routes: createHealthStatusTable().routes,
      logger,
      port: server.port,
    });
    cleanups.push(() => restarted.close(100));
    await statusBecomes("agent-echo", "passing");
  });

  it("checks one named service with host:port/service", async () => {
    const { health, server } = await grpcServer(["agentplatform.v1.AgentService"]);
    await register("named", {
      GRPC: `${server.address}/agentplatform.v1.AgentService`,
      Interval: "100ms",
    });
    await statusBecomes("named", "passing");
    health.set("agentplatform.v1.AgentService", ServingStatus.NOT_SERVING);
    await statusBecomes("named", "critical");
    // The server as a whole is still serving; only the named service failed.
    expect(health.get("")).toBe(ServingStatus.SERVING);

    await register("unknown-service", { GRPC: `${server.address}/nope`, Interval: "100ms" });
    await eventually(
      async () => (await checkOf("unknown-service"))?.Output.includes("code = NotFound") === true,
      {
        what: "unknown-service check to run",
      },
    );
    expect((await checkOf("unknown-service"))?.Status).toBe("critical");
  });

  it("uses TLS with GRPCUseTLS, verifying the certificate unless TLSSkipVerify", async () => {
    const dir = mkdtempSync(join(tmpdir(), "registry-tls-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    const tls = {
      cert: readFileSync(join(dir, "cert.pem")),
      key: readFileSync(join(dir, "key.pem")),
    };
    const { server } = await grpcServer([], tls);

    await register("skip-verify", {
      GRPC: server.address,
      GRPCUseTLS: true,
      TLSSkipVerify: true,
      Interval: "100ms",
    });
    await register("verify", { GRPC: server.address, GRPCUseTLS: true, Interval: "100ms" });
    await register("plaintext", { GRPC: server.address, Interval: "100ms" });
    await statusBecomes("skip-verify", "passing");
    // A self-signed certificate fails verification, and h2c cannot talk to a TLS port.
    await eventually(async () => (await checkOf("verify"))?.Output.includes("rpc error") === true, {
      what: "verify check to run",
    });
    expect((await checkOf("verify"))?.Status).toBe("critical");
    await eventually(
      async () => (await checkOf("plaintext"))?.Output.includes("rpc error") === true,
      {
        what: "plaintext check to run",
      },
    );
    expect((await checkOf("plaintext"))?.Status).toBe("critical");
  });
});

describe("TCP and HTTP checks", () => {
  it("TCP passes while something listens and fails once it stops", async () => {
    const listener = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
    const target = `127.0.0.1:${(listener.address() as AddressInfo).port}`;
    await register("tcp", { TCP: target, Interval: "100ms" });
    expect(await statusBecomes("tcp", "passing")).toBe(`TCP connect ${target}: Success`);
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    expect(await statusBecomes("tcp", "critical")).toContain("connection refused");
  });

  it("HTTP maps 2xx to passing, 429 to warning and other codes to critical", async () => {
    let code = 200;
    const server = http.createServer((_req, res) => {
      res.writeHead(code).end(`status ${code}`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
    await register("web", { HTTP: url, Interval: "100ms" });
    expect(await statusBecomes("web", "passing")).toBe(
      `HTTP GET ${url}: 200 OK Output: status 200`,
    );
    code = 429;
    await statusBecomes("web", "warning");
    code = 503;
    await statusBecomes("web", "critical");
  });
});

describe("TTL checks, initial status and reaping", () => {
  it("starts critical unless Status is given, and expires when not updated within its TTL", async () => {
    await register("fresh", { TTL: "10s" });
    expect((await checkOf("fresh"))?.Status).toBe("critical");
    await register("told", { TTL: "300ms", Status: "passing" });
    expect((await checkOf("told"))?.Status).toBe("passing");

    const started = Date.now();
    expect(await statusBecomes("told", "critical")).toContain("TTL expired");
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);

    await consul.updateTtlCheck("told", "passing", "alive");
    expect((await checkOf("told"))?.Status).toBe("passing");
    // Updates restart the clock: kept alive, it stays passing past its TTL. The TTL is eight
    // update intervals long, so a slow machine delaying one update does not let it expire.
    await register("kept", { TTL: "2s", Status: "passing" });
    const keptSince = Date.now();
    while (Date.now() - keptSince < 3000) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      await consul.updateTtlCheck("kept", "passing", "alive");
    }
    expect((await checkOf("kept"))?.Status).toBe("passing");
  });

  it("reaps a service critical longer than DeregisterCriticalServiceAfter, and only that one", async () => {
    await register("doomed", { TTL: "1m", DeregisterCriticalServiceAfter: "300ms" });
    await register("healthy", {
      TTL: "1m",
      Status: "passing",
      DeregisterCriticalServiceAfter: "300ms",
    });
    const started = Date.now();
    await eventually(async () => (await consul.agentService("doomed")) === undefined, {
      what: "doomed to be reaped",
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await consul.agentService("healthy")).toBeDefined();
    expect(Object.keys((await consul.catalogServices()).value)).toEqual(["healthy"]);
  });

  it("stops checking a deregistered service", async () => {
    const hits = { gone: 0, witness: 0 };
    const server = http.createServer((req, res) => {
      if (req.url === "/gone") hits.gone++;
      if (req.url === "/witness") hits.witness++;
      res.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    await register("gone", { HTTP: `${url}gone`, Interval: "50ms" });
    await register("witness", { HTTP: `${url}witness`, Interval: "50ms" });
    await statusBecomes("gone", "passing");
    await consul.deregister("gone");
    const after = { ...hits };
    // A check still registered runs five more times meanwhile: the deregistered one would too.
    await eventually(() => hits.witness >= after.witness + 5, { what: "five more witness checks" });
    expect(hits.gone - after.gone).toBeLessThanOrEqual(1);
  });
});
