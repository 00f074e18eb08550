import * as http2 from "node:http2";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { Health } from "../gen/grpc/health/v1/health_pb";
import { type GrpcServer, startGrpcServer } from "./grpc-server";
import { createHealthStatusTable, ServingStatus } from "./health";
import { createLogger } from "./log";
import { eventually } from "./test-support/eventually";

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

/** One request on `session`; resolves with the response status, body and how the stream ended. */
function request(
  session: http2.ClientHttp2Session,
  path: string,
  body: string,
): Promise<{ status: number; body: string; rstCode: number | undefined }> {
  return new Promise((resolve) => {
    const stream = session.request({ ":method": "POST", ":path": path });
    let status = 0;
    let text = "";
    stream.on("response", (headers) => {
      status = Number(headers[":status"]);
    });
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      text += chunk;
    });
    stream.on("error", () => {});
    stream.on("close", () => resolve({ status, body: text, rstCode: stream.rstCode }));
    stream.end(body);
  });
}

describe("startGrpcServer streamHandler", () => {
  it("takes its streams before the request handlers, and leaves the others to them", async () => {
    const health = createHealthStatusTable();
    const held: http2.ServerHttp2Stream[] = [];
    server = await startGrpcServer({
      routes: health.routes,
      streamHandler: (stream, headers) => {
        if (headers[":path"] === "/test/hold") {
          held.push(stream);
          return true;
        }
        if (headers[":path"] !== "/test/echo") return false;
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => {
          stream.respond({ ":status": 200, "x-served-by": "stream" });
          stream.end(`stream:${Buffer.concat(chunks).toString()}`);
        });
        return true;
      },
      rawHandler: (req, res) => {
        if (req.url !== "/test/raw") return false;
        res.end("request handler");
        return true;
      },
      logger,
    });
    const session = http2.connect(`http://${server.address}`);
    try {
      expect(await request(session, "/test/echo", "ping")).toMatchObject({
        status: 200,
        body: "stream:ping",
      });
      expect(await request(session, "/test/raw", "")).toMatchObject({
        status: 200,
        body: "request handler",
      });
      // The Connect routes still answer on the same connection.
      const client = createClient(
        Health,
        createGrpcTransport({ baseUrl: `http://${server.address}` }),
      );
      expect((await client.check({ service: "" })).status).toBe(ServingStatus.SERVING);

      // A stream the handler holds counts as in progress until it closes.
      const holding = session.request({ ":method": "POST", ":path": "/test/hold" });
      holding.on("error", () => {});
      holding.write("x");
      const running = server;
      await eventually(() => held.length === 1 && running.activeStreams() === 1);
      const [stream] = held;
      if (stream === undefined) throw new Error("the held stream never reached the handler");
      // The caller resetting it with an error code must not take the server down.
      const closed = new Promise<void>((resolve) => stream.once("close", () => resolve()));
      holding.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      await closed;
      expect(stream.rstCode).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
      await eventually(() => running.activeStreams() === 0);
    } finally {
      session.destroy();
    }
  });
});
