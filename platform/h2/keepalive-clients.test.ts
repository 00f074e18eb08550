// Clients that keep their connection alive with PINGs, as grpc-js, grpc-python and grpc-go do
// with the seed design's channel options (keepalive every 10 s, 5 s timeout, pings without calls
// allowed), keep it: a connection whose peer pings is not idle, and PINGs at that rate never
// count as a flood. A client that neither calls nor pings is still sent away once idle.
// The server's idle timeout is shortened to 3 s and the client pings every 1 s: the same order
// (pings well inside the idle time) as 10 s pings against the 5-minute default.
import { spawn } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../log";
import { defaultServerLimits } from "../server-limits";
import type { H2Connection, H2Stream } from "./connection";
import { type H2Server, startH2Server } from "./server";

const logger = createLogger("keepalive-test", { level: "error" });
let server: H2Server;
/** The connection each call arrived on, in order. */
const callConnections: H2Connection[] = [];

/** Notes the call's connection and answers an empty message with OK: enough for any gRPC client. */
function answer(stream: H2Stream): void {
  callConnections.push(stream.connection);
  stream.sendHeaders([":status", "200", "content-type", "application/grpc"], false);
  stream.sendData(Buffer.alloc(5), false);
  stream.sendTrailers(["grpc-status", "0"]);
}

beforeAll(async () => {
  server = await startH2Server({
    host: "127.0.0.1",
    port: 0,
    limits: { ...defaultServerLimits, idleTimeoutMs: 3000 },
    onStream: answer,
    logger,
  });
});

afterAll(async () => {
  await server?.close(0);
});

function grpcJsCall(client: grpc.Client): Promise<void> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      "/test.Keepalive/Call",
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      (err) => (err ? reject(err) : resolve()),
    );
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("keepalive clients", () => {
  it("grpc-js pinging every second keeps one connection through 8 s of idling", async () => {
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure(), {
      "grpc.keepalive_time_ms": 1000,
      "grpc.keepalive_timeout_ms": 5000,
      "grpc.keepalive_permit_without_calls": 1,
    });
    try {
      const first = callConnections.length;
      await grpcJsCall(client);
      await sleep(8000);
      await grpcJsCall(client);
      const [a, b] = callConnections.slice(first);
      expect(a).toBeDefined();
      expect(b).toBe(a);
      expect(a?.goawaySent).toBeUndefined();
    } finally {
      client.close();
    }
  }, 20_000);

  it("grpc-js without keepalive is sent away (GOAWAY) once idle, and reconnects", async () => {
    const client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
    try {
      const first = callConnections.length;
      await grpcJsCall(client);
      await sleep(6000);
      await grpcJsCall(client);
      const [a, b] = callConnections.slice(first);
      expect(a?.goawaySent).toBeDefined();
      expect(b).not.toBe(a);
    } finally {
      client.close();
    }
  }, 20_000);

  // C-core spaces its keepalive PINGs by several seconds whatever keepalive_time asks (seen
  // here: about 4 s apart), so this server's idle time is 10 s: still many PINGs inside it, as
  // 10 s PINGs are inside the 5-minute default.
  it("grpc-python with the seed's options, scaled, keeps one connection through 16 s of idling", async () => {
    const patient = await startH2Server({
      host: "127.0.0.1",
      port: 0,
      limits: { ...defaultServerLimits, idleTimeoutMs: 10_000 },
      onStream: answer,
      logger,
    });
    const script = `
import grpc, time, sys
opts = [("grpc.keepalive_time_ms", 1000), ("grpc.keepalive_timeout_ms", 5000),
        ("grpc.keepalive_permit_without_calls", 1), ("grpc.http2.max_pings_without_data", 0),
        ("grpc.http2.min_time_between_pings_ms", 1000)]
ch = grpc.insecure_channel("127.0.0.1:${patient.port}", options=opts)
call = ch.unary_unary("/test.Keepalive/Call", request_serializer=None, response_deserializer=None)
call(b"", timeout=5)
time.sleep(16)
call(b"", timeout=5)
print("ok")
`;
    const first = callConnections.length;
    const output = await new Promise<string>((resolve, reject) => {
      // Debian's interpreter carries python3-grpcio.
      const child = spawn("/usr/bin/python3", ["-c", script], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
      });
      child.stderr.on("data", (c: Buffer) => {
        out += c.toString();
      });
      child.on("error", reject);
      child.on("exit", () => resolve(out));
    });
    await patient.close(0);
    expect(output.trim()).toBe("ok");
    const [a, b] = callConnections.slice(first);
    expect(a).toBeDefined();
    expect(b).toBe(a);
  }, 40_000);
});
