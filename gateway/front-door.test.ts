import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentService } from "../gen/agentplatform/v1/platform_pb";
import { Health, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb";
import type { Router } from "../router/router";
import {
  eventually,
  grpcTransport,
  quietLogger,
  startTestRegistry,
  startTestRouter,
  type TestRegistry,
  waitRoutable,
} from "../router/test-support/cluster";
import { type EchoBackend, startEchoBackend } from "../router/test-support/echo-backend";
import { type FrontDoor, startFrontDoor } from "./front-door";

let registry: TestRegistry;
let backend: EchoBackend;
let routers: Router[] = [];
let door: FrontDoor;

beforeAll(async () => {
  registry = await startTestRegistry();
  backend = await startEchoBackend({ consul: registry.consul });
  routers = [await startTestRouter(registry.consul), await startTestRouter(registry.consul)];
  door = await startFrontDoor({
    consul: registry.consul,
    logger: quietLogger,
    watch: { maxBackoffMs: 300, wait: "5s" },
  });
  await waitRoutable(door.address);
  await eventually(async () => expect(door.routers()).toHaveLength(2));
});

afterAll(async () => {
  await door?.close(500);
  for (const r of routers) await r.close(500);
  await backend?.stop("hard");
  await registry?.registry.close();
});

describe("gRPC front door", () => {
  it("carries an unmodified grpc-js client's call through a router to a backend", async () => {
    const definition = await protoLoader.load(
      fileURLToPath(new URL("../proto/agentplatform/v1/platform.proto", import.meta.url)),
      { keepCase: true, defaults: true },
    );
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      agentplatform: { v1: { AgentService: grpc.ServiceClientConstructor } };
    };
    const client = new loaded.agentplatform.v1.AgentService(
      door.address,
      grpc.credentials.createInsecure(),
    );
    try {
      const output = await new Promise<string>((resolve, reject) => {
        client.ExecuteTask(
          { task_id: "task-123", agent_id: "echo-agent", input: "Hello, World!" },
          (err: grpc.ServiceError | null, res: { output: string }) =>
            err ? reject(err) : resolve(res.output),
        );
      });
      expect(output).toBe("Echo: Hello, World!");
      const missing = await new Promise<grpc.ServiceError | null>((resolve) => {
        client.ExecuteTask(
          { agent_id: "nobody-agent", input: "x" },
          (err: grpc.ServiceError | null) => resolve(err),
        );
      });
      expect(missing?.code).toBe(grpc.status.NOT_FOUND);
    } finally {
      client.close();
    }
  });

  it("serves its own grpc.health.v1", async () => {
    const health = createClient(Health, grpcTransport(door.address));
    expect((await health.check({ service: "" })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });

  it("loses no call while a router behind it drains and stops under load", async () => {
    const client = createClient(AgentService, grpcTransport(door.address));
    let ok = 0;
    const failures: string[] = [];
    let stop = false;
    const worker = async (n: number) => {
      for (let i = 0; !stop && i < 5000; i++) {
        try {
          const res = await client.executeTask(
            { agentId: "echo-agent", input: `w${n}-${i}` },
            { timeoutMs: 5000 },
          );
          if (res.output === `Echo: w${n}-${i}`) ok++;
          else failures.push(`wrong answer ${res.output}`);
        } catch (err) {
          failures.push(ConnectError.from(err).message);
        }
      }
    };
    const load = Promise.all([0, 1, 2, 3, 4, 5].map(worker));
    await eventually(async () => expect(ok).toBeGreaterThan(200));
    const leaving = routers[0] as Router;
    const before = ok;
    await leaving.close(3000);
    await eventually(async () => expect(ok).toBeGreaterThan(before + 300));
    stop = true;
    await load;
    expect(failures).toEqual([]);
    expect(door.routers()).toEqual([(routers[1] as Router).address]);
    // What is left still routes.
    expect((await client.executeTask({ agentId: "echo-agent", input: "after" })).output).toBe(
      "Echo: after",
    );
    expect(
      await client.executeTask({ agentId: "", input: "x" }).catch((e) => ConnectError.from(e).code),
    ).toBe(Code.InvalidArgument);
  });
});
