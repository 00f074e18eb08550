// Backends that end a call without ever answering: the router reports UNAVAILABLE, naming the
// backend and what went wrong, instead of an UNKNOWN "HTTP 0".
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentService, TaskResponseSchema } from "../gen/agentplatform/v1/platform_pb";
import { type GrpcServer, startGrpcServer } from "../platform/grpc-server";
import type { Router } from "./router";
import {
  grpcTransport,
  quietLogger,
  startTestRegistry,
  startTestRouter,
  type TestRegistry,
} from "./test-support/cluster";
import { selfSignedTls } from "./test-support/self-signed-tls";

let registry: TestRegistry;
let router: Router;
let tlsOnly: GrpcServer;
let resetting: http2.Http2Server;
let resettingAddress: string;
let resetStreams = 0;

/** Registers host:port as `service` with a TCP check, which passes whatever the server speaks. */
async function registerTcp(service: string, address: string): Promise<void> {
  const [host = "", port = ""] = address.split(":");
  await registry.consul.register({
    ID: `${service}-1`,
    Name: service,
    Tags: ["agent"],
    Address: host,
    Port: Number(port),
    Check: { TCP: address, Interval: "1s" },
  });
}

beforeAll(async () => {
  registry = await startTestRegistry();
  tlsOnly = await startGrpcServer({
    routes: (r: ConnectRouter) =>
      r.service(AgentService, {
        executeTask: () => create(TaskResponseSchema, { output: "over TLS", success: true }),
      }),
    tls: selfSignedTls(),
    logger: quietLogger,
  });
  // Takes each call, then resets its stream with NO_ERROR without sending any header.
  resetting = http2.createServer();
  resetting.on("stream", (stream) => {
    resetStreams++;
    stream.on("error", () => {});
    stream.resume();
    stream.on("end", () => stream.close(http2.constants.NGHTTP2_NO_ERROR));
  });
  await new Promise<void>((r) => resetting.listen(0, "127.0.0.1", r));
  resettingAddress = `127.0.0.1:${(resetting.address() as AddressInfo).port}`;
  await registerTcp("agent-secure", tlsOnly.address);
  await registerTcp("agent-resetting", resettingAddress);
  // Plaintext to backends: no upstream TLS configured.
  router = await startTestRouter(registry.consul);
});

afterAll(async () => {
  await router?.close(500);
  await tlsOnly?.close(0);
  await new Promise<void>((r) => (resetting ? resetting.close(() => r()) : r()));
  await registry?.registry.close();
});

const failureOf = (agentId: string) =>
  createClient(AgentService, grpcTransport(router.address))
    .executeTask({ agentId, input: "x" }, { timeoutMs: 5000 })
    .then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );

describe("calls a backend never answers", () => {
  it("UNAVAILABLE, naming the backend, when a plaintext router dials a TLS-only backend", async () => {
    const err = await failureOf("secure-agent");
    expect(err?.code).toBe(Code.Unavailable);
    expect(err?.rawMessage).toContain(tlsOnly.address);
    expect(err?.rawMessage).toContain("without speaking HTTP/2");
    expect(err?.rawMessage).toContain("TLS");
  });

  it("UNAVAILABLE, naming the backend, when the backend resets the stream before headers", async () => {
    const before = resetStreams;
    const err = await failureOf("resetting-agent");
    expect(err?.code).toBe(Code.Unavailable);
    expect(err?.rawMessage).toBe(
      `agent-resetting instance ${resettingAddress} reset the call before answering (RST_STREAM NO_ERROR)`,
    );
    // ExecuteTask may have run: not replayed.
    expect(resetStreams).toBe(before + 1);
  });
});
