// A registry, routers and backends on loopback for router and front-door tests.
import * as http2 from "node:http2";
import { type Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AgentService } from "../../gen/agentplatform/v1/platform_pb";
import { type ConsulClient, createConsulClient } from "../../platform/consul/consul-client";
import { createLogger } from "../../platform/log";
import { eventually } from "../../platform/test-support/eventually";
import {
  type EmbeddedRegistry,
  startEmbeddedRegistry,
} from "../../registry/embedded/embedded-registry";
import { type Router, type RouterOptions, startRouter } from "../router";

export const quietLogger = createLogger("test", { level: "error" });

export interface TestRegistry {
  registry: EmbeddedRegistry;
  consul: ConsulClient;
}

export async function startTestRegistry(port = 0): Promise<TestRegistry> {
  const registry = await startEmbeddedRegistry({
    port,
    logger: quietLogger,
    reapIntervalMs: 500,
  });
  return { registry, consul: createConsulClient({ address: registry.address, timeoutMs: 1000 }) };
}

export function startTestRouter(
  consul: ConsulClient,
  options: Partial<RouterOptions> = {},
): Promise<Router> {
  return startRouter({
    consul,
    logger: quietLogger,
    checkIntervalMs: 1000,
    watch: { maxBackoffMs: 300, wait: "5s" },
    ...options,
  });
}

export function grpcTransport(address: string): Transport {
  return createGrpcTransport({ baseUrl: `http://${address}` });
}

/** Waits until ExecuteTask through `address` reaches `agentId`, answering from any of `backends`. */
export async function waitRoutable(address: string, agentId = "echo-agent"): Promise<void> {
  const client = createClient(AgentService, grpcTransport(address));
  await eventually(() => client.executeTask({ agentId, input: "ready?" }, { timeoutMs: 2000 }));
}

/** The gRPC code of a rejected promise. */
export async function codeOf(promise: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await promise;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

export interface RawAnswer {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  /** grpc-status from the trailers or, for Trailers-Only answers, the headers. */
  status: number;
  message: string;
  body: Buffer;
}

/** Sends raw request bytes as a gRPC call, for requests no well-behaved client would make. */
export function rawGrpcCall(
  address: string,
  path: string,
  body: Buffer,
  headers: http2.OutgoingHttpHeaders = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...headers,
    });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      responseHeaders = h;
    });
    stream.on("trailers", (t) => {
      trailers = t;
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("error", () => {});
    stream.on("close", () => {
      session.close();
      const status = trailers["grpc-status"] ?? responseHeaders["grpc-status"];
      const message = trailers["grpc-message"] ?? responseHeaders["grpc-message"];
      resolve({
        headers: responseHeaders,
        trailers,
        status: Number(status ?? -1),
        message: decodeURIComponent(String(message ?? "")),
        body: Buffer.concat(chunks),
      });
    });
    stream.end(body);
  });
}

/** A 5-byte gRPC message prefix followed by `payload`. */
export function grpcFrame(payload: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out.writeUInt32BE(payload.length, 1);
  out.set(payload, 5);
  return out;
}
