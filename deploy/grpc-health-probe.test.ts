import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startGrpcServer } from "../platform/grpc-server";
import { createHealthStatusTable, ServingStatus } from "../platform/health";
import { createLogger } from "../platform/log";
import { loadTlsFiles } from "../platform/tls";
import { makeCerts } from "../scripts/make-certs";
import { freePorts, startTsChild } from "./fixtures/processes";
import { probeGrpcHealth } from "./grpc-health-probe";

const logger = createLogger("test", { level: "error" });
const dir = mkdtempSync(join(tmpdir(), "probe-certs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("grpc-health-probe (container health check)", () => {
  it("passes only while the server reports SERVING, and fails when nothing listens", async () => {
    const health = createHealthStatusTable();
    const server = await startGrpcServer({ routes: health.routes, logger });
    try {
      expect((await probeGrpcHealth(server.address, "", {})).healthy).toBe(true);
      health.setAll(ServingStatus.NOT_SERVING);
      const draining = await probeGrpcHealth(server.address, "", {});
      expect(draining).toEqual({ healthy: false, detail: `${server.address}: NOT_SERVING` });
    } finally {
      await server.close(100);
    }
    const [closed] = await freePorts(1);
    expect((await probeGrpcHealth(`127.0.0.1:${closed}`, "", {}, 1000)).healthy).toBe(false);
  });

  it("presents the process's own certificate to an mTLS server, as a process exit code", async () => {
    const certs = makeCerts({ dir });
    const tls = loadTlsFiles({
      enabled: true,
      certPath: certs.nodeCert,
      keyPath: certs.nodeKey,
      caPath: certs.ca,
    });
    const health = createHealthStatusTable();
    const server = await startGrpcServer({
      routes: health.routes,
      logger,
      ...(tls ? { tls } : {}),
    });
    try {
      const env = {
        GRPC_TLS_ENABLED: "true",
        GRPC_TLS_CERT_PATH: certs.nodeCert,
        GRPC_TLS_KEY_PATH: certs.nodeKey,
        GRPC_TLS_CA_PATH: certs.ca,
      };
      // Without the certificate the server refuses the handshake.
      expect((await probeGrpcHealth(server.address, "", {})).healthy).toBe(false);
      const probe = startTsChild("deploy/grpc-health-probe.ts", env, [server.address]);
      expect(await probe.exited).toBe(0);
      expect(probe.output()).toBe(`${server.address}: SERVING\n`);
      health.setAll(ServingStatus.NOT_SERVING);
      const failing = startTsChild("deploy/grpc-health-probe.ts", env, [server.address]);
      expect(await failing.exited).toBe(1);
    } finally {
      await server.close(100);
    }
  });
});
