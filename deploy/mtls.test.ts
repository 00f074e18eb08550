// mTLS on every gRPC hop with certificates from scripts/make-certs.ts:
// client -> gateway front door -> router -> echo agent, each hop TLS with client certificates.
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FrontDoor, startFrontDoor } from "../gateway/front-door";
import {
  AgentService,
  TaskRequestSchema,
  TaskResponseSchema,
} from "../gen/agentplatform/v1/platform_pb";
import { type GrpcServer, startGrpcServer } from "../platform/grpc-server";
import { createHealthStatusTable } from "../platform/health";
import { type Registration, registerInstance } from "../platform/registration";
import { eventually } from "../platform/test-support/eventually";
import { loadTlsFiles, type TlsFiles } from "../platform/tls";
import { type Router, startRouter } from "../router/router";
import { quietLogger, startTestRegistry, type TestRegistry } from "../router/test-support/cluster";
import { type CertPaths, makeCerts } from "../scripts/make-certs";

const dir = mkdtempSync(join(tmpdir(), "certs-"));
let certs: CertPaths;
let nodeTls: TlsFiles;
let registry: TestRegistry;
let echo: GrpcServer;
let router: Router;
let plainUpstreamRouter: Router;
let door: FrontDoor;
const registrations: Registration[] = [];

function echoRoutes(router: ConnectRouter) {
  createHealthStatusTable().routes(router);
  router.service(AgentService, {
    executeTask: (req) =>
      create(TaskResponseSchema, { output: `Echo: ${req.input}`, success: true }),
  });
}

/** Registry checks here are TCP: the embedded registry's gRPC probe carries no client certificate. */
async function register(name: string, port: number) {
  registrations.push(
    await registerInstance(
      registry.consul,
      { name, tags: [], meta: {}, address: "127.0.0.1", port, check: "tcp", checkIntervalMs: 1000 },
      quietLogger,
    ),
  );
}

function tlsFiles(cert: string, key: string): TlsFiles {
  const files = loadTlsFiles({ enabled: true, certPath: cert, keyPath: key, caPath: certs.ca });
  if (!files) throw new Error("TLS files expected");
  return files;
}

beforeAll(async () => {
  certs = makeCerts({ dir });
  nodeTls = tlsFiles(certs.nodeCert, certs.nodeKey);
  registry = await startTestRegistry();
  echo = await startGrpcServer({ routes: echoRoutes, tls: nodeTls, logger: quietLogger });
  await register("agent-echo", echo.port);
  const routerOptions = {
    consul: registry.consul,
    tls: nodeTls,
    register: false,
    watch: { maxBackoffMs: 300, wait: "5s" },
    logger: quietLogger,
  };
  router = await startRouter({ ...routerOptions, upstreamTls: nodeTls });
  plainUpstreamRouter = await startRouter(routerOptions);
  await register("grpc-router", router.port);
  door = await startFrontDoor({
    consul: registry.consul,
    tls: nodeTls,
    routerTls: nodeTls,
    watch: { maxBackoffMs: 300, wait: "5s" },
    logger: quietLogger,
  });
}, 30_000);

afterAll(async () => {
  for (const r of registrations) await r.deregister();
  await door?.close(100);
  await router?.close(100);
  await plainUpstreamRouter?.close(100);
  await echo?.close(100);
  await registry?.registry.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One ExecuteTask with grpc-js (an independent TLS client); resolves to output or status code. */
function executeTask(address: string, credentials: grpc.ChannelCredentials, input: string) {
  const client = new grpc.Client(address, credentials);
  return new Promise<string>((resolve) => {
    client.makeUnaryRequest(
      "/agentplatform.v1.AgentService/ExecuteTask",
      (x: Buffer) => x,
      (x: Buffer) => x,
      Buffer.from(
        toBinary(TaskRequestSchema, create(TaskRequestSchema, { agentId: "echo-agent", input })),
      ),
      new grpc.Metadata(),
      { deadline: Date.now() + 5000 },
      (err, res) => {
        client.close();
        if (err) resolve(`${grpc.status[err.code] ?? err.code}: ${err.details}`);
        else resolve(res ? fromBinary(TaskResponseSchema, res).output : "");
      },
    );
  });
}

const ca = () => readFileSync(certs.ca);
const withClientCert = () =>
  grpc.credentials.createSsl(ca(), readFileSync(certs.clientKey), readFileSync(certs.clientCert));

describe("make-certs", () => {
  it("issues node and client certificates from one CA, with loopback and Compose names", () => {
    const caCert = new X509Certificate(readFileSync(certs.ca));
    const node = new X509Certificate(readFileSync(certs.nodeCert));
    const client = new X509Certificate(readFileSync(certs.clientCert));
    expect(node.verify(caCert.publicKey)).toBe(true);
    expect(client.verify(caCert.publicKey)).toBe(true);
    expect(node.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(node.checkHost("router")).toBe("router");
    expect(node.checkHost("localhost")).toBe("localhost");
    expect(client.checkIP("127.0.0.1")).toBeUndefined();
  });
});

describe("mTLS on every hop", () => {
  it("serves a client that presents a certificate: front door -> router -> agent", async () => {
    // The front door learns the router from the registry once its TCP check passes.
    await eventually(
      async () =>
        expect(await executeTask(door.address, withClientCert(), "over mTLS")).toBe(
          "Echo: over mTLS",
        ),
      { what: "an answer over mTLS", intervalMs: 200 },
    );
  });

  it("refuses a client without a certificate, or with one from another CA, at every hop", async () => {
    const noCert = grpc.credentials.createSsl(ca());
    for (const address of [door.address, router.address, echo.address]) {
      expect(await executeTask(address, noCert, "x")).toMatch(/^UNAVAILABLE: /);
      expect(await executeTask(address, grpc.credentials.createInsecure(), "x")).toMatch(
        /^UNAVAILABLE: /,
      );
    }
    const otherDir = mkdtempSync(join(tmpdir(), "other-ca-"));
    try {
      const other = makeCerts({ dir: otherDir });
      const foreign = grpc.credentials.createSsl(
        ca(),
        readFileSync(other.clientKey),
        readFileSync(other.clientCert),
      );
      expect(await executeTask(door.address, foreign, "x")).toMatch(/^UNAVAILABLE: /);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it("the router's hop to the agent is TLS: a router dialling h2c cannot reach it", async () => {
    expect(await executeTask(router.address, withClientCert(), "direct")).toBe("Echo: direct");
    // Served by the router itself, the call fails: the agent accepts nothing but TLS.
    const plain = await executeTask(plainUpstreamRouter.address, withClientCert(), "plain");
    expect(plain).not.toBe("Echo: plain");
    expect(plain).toMatch(/^[A-Z_]+: agent-echo instance 127\.0\.0\.1:\d+/);
  });
});
