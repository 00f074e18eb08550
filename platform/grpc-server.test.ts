import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { Health } from "../gen/grpc/health/v1/health_pb";
import { type GrpcServer, startGrpcServer } from "./grpc-server";
import { createHealthStatusTable, ServingStatus } from "./health";
import { createLogger } from "./log";

const logger = createLogger("test", { level: "error" });
let server: GrpcServer | undefined;
afterEach(async () => {
  await server?.close(100);
  server = undefined;
});

describe("startGrpcServer", () => {
  it("serves grpc.health.v1 over h2c on a free port and reports drain as NOT_SERVING", async () => {
    const health = createHealthStatusTable(["agentplatform.v1.AgentService"]);
    server = await startGrpcServer({ routes: health.routes, logger });
    const client = createClient(
      Health,
      createGrpcTransport({ baseUrl: `http://${server.address}` }),
    );
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    health.setAll(ServingStatus.NOT_SERVING);
    expect((await client.check({ service: "agentplatform.v1.AgentService" })).status).toBe(
      ServingStatus.NOT_SERVING,
    );
    const unknown = await client.check({ service: "nope" }).catch((e: unknown) => e);
    expect(ConnectError.from(unknown).code).toBe(Code.NotFound);
  });

  it("streams health changes to Watch callers", async () => {
    const health = createHealthStatusTable();
    server = await startGrpcServer({ routes: health.routes, logger });
    const client = createClient(
      Health,
      createGrpcTransport({ baseUrl: `http://${server.address}` }),
    );
    const abort = new AbortController();
    const seen: ServingStatus[] = [];
    for await (const res of client.watch({ service: "" }, { signal: abort.signal })) {
      seen.push(res.status);
      if (seen.length === 1) health.set("", ServingStatus.NOT_SERVING);
      else break;
    }
    abort.abort();
    expect(seen).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
  });
});
