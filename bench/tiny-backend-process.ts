// A minimal gRPC backend for profiling a hop: raw node:http2, answers every call with one fixed
// TaskResponse and grpc-status 0, registered as "agent-echo" with a TCP check. Its own cost is
// small, so the hop in front of it is what the measurement sees.
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { TaskResponseSchema } from "../gen/agentplatform/v1/platform_pb";
import { createConsulClient } from "../platform/consul/consul-client";
import { createLogger } from "../platform/log";
import { registerInstance } from "../platform/registration";
import { announceReady } from "./child-process";
import { requestInput } from "./request-frame";

const consulAddress = process.env.BENCH_CONSUL_ADDR;
if (consulAddress === undefined) throw new Error("BENCH_CONSUL_ADDR is not set");

const body = toBinary(
  TaskResponseSchema,
  create(TaskResponseSchema, { taskId: "bench", output: `Echo: ${requestInput}`, success: true }),
);
const frame = Buffer.alloc(5 + body.length);
frame.writeUInt32BE(body.length, 1);
frame.set(body, 5);

const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
server.on("stream", (stream) => {
  stream.on("data", () => {});
  stream.once("end", () => {
    if (stream.destroyed) return;
    stream.respond(
      { ":status": 200, "content-type": "application/grpc" },
      { waitForTrailers: true },
    );
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(frame);
  });
  stream.on("error", () => {});
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const port = (server.address() as AddressInfo).port;
const logger = createLogger("tiny-backend", { level: "warn" });
const registration = await registerInstance(
  createConsulClient({ address: consulAddress }),
  {
    name: "agent-echo",
    tags: ["agent"],
    meta: { name: "echo", description: "profiling backend", capabilities: "echo", version: "0" },
    address: "127.0.0.1",
    port,
    check: "tcp",
    checkIntervalMs: 1000,
  },
  logger,
);
announceReady({ address: `127.0.0.1:${port}` });

process.once("SIGTERM", () => {
  void registration.deregister().then(() => {
    server.close();
    process.exit(0);
  });
});
