// TLS health checks against a service that requires client certificates (mTLS), with
// certificates from scripts/make-certs.ts: like Consul's enable_agent_tls_for_checks.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EnvReader } from "../../platform/config";
import { createConsulClient } from "../../platform/consul/consul-client";
import { type GrpcServer, startGrpcServer } from "../../platform/grpc-server";
import { createHealthStatusTable } from "../../platform/health";
import { createLogger } from "../../platform/log";
import { eventually } from "../../platform/test-support/eventually";
import { loadTlsFiles } from "../../platform/tls";
import { type CertPaths, makeCerts } from "../../scripts/make-certs";
import { loadCheckTls, readCheckTlsPaths } from "./check-tls";
import { type EmbeddedRegistry, startEmbeddedRegistry } from "./embedded-registry";

const logger = createLogger("test", { level: "error" });
const dir = mkdtempSync(join(tmpdir(), "check-tls-"));
let certs: CertPaths;
let server: GrpcServer;
const registries: EmbeddedRegistry[] = [];

beforeAll(async () => {
  certs = makeCerts({ dir });
  const tls = loadTlsFiles({
    enabled: true,
    certPath: certs.nodeCert,
    keyPath: certs.nodeKey,
    caPath: certs.ca,
  });
  const health = createHealthStatusTable();
  server = await startGrpcServer({ routes: health.routes, logger, ...(tls ? { tls } : {}) });
}, 20_000);

afterAll(async () => {
  for (const r of registries) await r.close();
  await server?.close(100);
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a registry with the check TLS read from `env`, registers an mTLS gRPC check, returns its output once it settles. */
async function checkWith(env: Record<string, string>, expected: "passing" | "critical") {
  const reader = new EnvReader(env);
  const paths = readCheckTlsPaths(reader);
  reader.done("registry");
  const checkTls = loadCheckTls(paths);
  const registry = await startEmbeddedRegistry({
    logger,
    minCheckIntervalMs: 100,
    ...(checkTls ? { checkTls } : {}),
  });
  registries.push(registry);
  const consul = createConsulClient({ address: registry.address });
  await consul.register({
    ID: "agent-echo-1",
    Name: "agent-echo",
    Address: "127.0.0.1",
    Port: server.port,
    Check: {
      CheckID: "service:agent-echo-1",
      GRPC: server.address,
      GRPCUseTLS: true,
      Interval: "1s",
      Timeout: "2s",
    },
  });
  const check = await eventually(
    async () => {
      const { value } = await consul.healthService("agent-echo");
      const c = value[0]?.Checks.find((x) => x.CheckID === "service:agent-echo-1");
      return c !== undefined && c.Status === expected && c.Output !== "" ? c : false;
    },
    { timeoutMs: 8000, what: `check ${expected}` },
  );
  return check.Output;
}

describe("gRPC checks over TLS with the registry's certificate", () => {
  it("pass against an mTLS service with GRPC_TLS_CA_PATH, _CERT_PATH and _KEY_PATH", async () => {
    const output = await checkWith(
      {
        GRPC_TLS_CA_PATH: certs.ca,
        GRPC_TLS_CERT_PATH: certs.nodeCert,
        GRPC_TLS_KEY_PATH: certs.nodeKey,
      },
      "passing",
    );
    expect(output).toBe(`gRPC check ${server.address}: success`);
  });

  it("fail without a client certificate, and without the CA", async () => {
    expect(await checkWith({ GRPC_TLS_CA_PATH: certs.ca }, "critical")).toMatch(
      /^Health check failed: rpc error/,
    );
    expect(await checkWith({}, "critical")).toMatch(/certificate/i);
  });

  it("names the variables that are missing or unreadable", () => {
    const reader = new EnvReader({ GRPC_TLS_CERT_PATH: certs.nodeCert });
    readCheckTlsPaths(reader);
    expect(() => reader.done("registry")).toThrow(/GRPC_TLS_CERT_PATH and GRPC_TLS_KEY_PATH/);
    expect(() => loadCheckTls({ caPath: join(dir, "missing.pem") })).toThrow(
      /^GRPC_TLS_CA_PATH: cannot read/,
    );
  });
});
