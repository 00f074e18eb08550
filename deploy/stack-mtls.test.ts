// The whole local stack (as `npm start` runs it, minus the console) with mTLS on every hop, from
// nothing but environment variables: the registry checks every service over TLS with the node
// certificate, and the front door serves clients that present a certificate and refuses others.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  TaskRequestSchema,
  TaskResponseSchema,
  TaskState,
  TaskStatusRequestSchema,
  TaskStatusResponseSchema,
  ToolRequestSchema,
  ToolResponseSchema,
} from "../gen/agentplatform/v1/platform_pb";
import { eventually } from "../platform/test-support/eventually";
import { type CertPaths, makeCerts } from "../scripts/make-certs";
import { type Stack, startStack } from "../scripts/stack";
import { freePortBlock } from "./fixtures/processes";

let stack: Stack;
let certs: CertPaths;
const dir = mkdtempSync(join(tmpdir(), "stack-mtls-"));
const lines: string[] = [];

beforeAll(async () => {
  certs = makeCerts({ dir: join(dir, "certs") });
  stack = await startStack({
    basePort: await freePortBlock(7),
    withConsole: false,
    dataDir: join(dir, "data"),
    env: {
      GRPC_TLS_ENABLED: "true",
      GRPC_TLS_CERT_PATH: certs.nodeCert,
      GRPC_TLS_KEY_PATH: certs.nodeKey,
      GRPC_TLS_CA_PATH: certs.ca,
      ROUTER_UPSTREAM_TLS: "true",
    },
    onLine: (name, line) => lines.push(`${name}| ${line}`),
  }).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${lines.slice(-40).join("\n")}`);
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** One unary call with grpc-js (an independent TLS client): the decoded answer or "CODE: details". */
function call<T>(
  credentials: grpc.ChannelCredentials,
  path: string,
  request: Uint8Array,
  decode: (bytes: Buffer) => T,
): Promise<T | string> {
  const client = new grpc.Client(stack.frontDoorAddress, credentials);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (x: Buffer) => x,
      (x: Buffer) => x,
      Buffer.from(request),
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (err, res) => {
        client.close();
        if (err) resolve(`${grpc.status[err.code] ?? err.code}: ${err.details}`);
        else resolve(decode(res ?? Buffer.alloc(0)));
      },
    );
  });
}

const echo = (credentials: grpc.ChannelCredentials, input: string) =>
  call(
    credentials,
    "/agentplatform.v1.AgentService/ExecuteTask",
    toBinary(TaskRequestSchema, create(TaskRequestSchema, { agentId: "echo-agent", input })),
    (b) => fromBinary(TaskResponseSchema, b).output,
  );

const withClientCert = () =>
  grpc.credentials.createSsl(
    readFileSync(certs.ca),
    readFileSync(certs.clientKey),
    readFileSync(certs.clientCert),
  );

interface CheckEntry {
  Checks: { CheckID: string; Status: string; Output: string }[];
}

describe("the local stack with mTLS on every hop", () => {
  it("registers every service healthy, checked by the registry over TLS", async () => {
    for (const service of ["agent-echo", "tool-weather", "worker-itinerary", "grpc-router"]) {
      const res = await fetch(`${stack.registryAddress}/v1/health/service/${service}`);
      const entries = (await res.json()) as CheckEntry[];
      expect(entries.length, service).toBeGreaterThan(0);
      for (const entry of entries) {
        const check = entry.Checks.find((c) => c.CheckID.startsWith("service:"));
        expect(check?.Status, service).toBe("passing");
        expect(check?.Output, service).toMatch(/^gRPC check .*: success$/);
      }
    }
    // The dial-in agent reached a router through the front door over mTLS and was registered.
    const nat = (await (
      await fetch(`${stack.registryAddress}/v1/health/service/agent-nat?passing=true`)
    ).json()) as CheckEntry[];
    expect(nat).toHaveLength(1);
  });

  it("serves a client with a certificate through the front door, to an agent and a tool", async () => {
    expect(await echo(withClientCert(), "over mTLS")).toBe("Echo: over mTLS");
    const weather = await call(
      withClientCert(),
      "/agentplatform.v1.ToolService/ExecuteTool",
      toBinary(
        ToolRequestSchema,
        create(ToolRequestSchema, {
          toolId: "weather-tool",
          operation: "current",
          parameters: { city: "Paris" },
        }),
      ),
      (b) => fromBinary(ToolResponseSchema, b),
    );
    if (typeof weather === "string") throw new Error(weather);
    expect(weather.success).toBe(true);
    expect(JSON.parse(weather.outputJson)).toMatchObject({ city: expect.stringMatching(/Paris/) });
  });

  it("runs a worker job that calls the weather tool through the routers over mTLS", async () => {
    const accepted = await call(
      withClientCert(),
      "/agentplatform.v1.TaskWorker/ProcessTask",
      toBinary(
        TaskRequestSchema,
        create(TaskRequestSchema, {
          agentId: "itinerary-worker",
          input: "Lisbon",
          parameters: { days: "1", start_date: "2025-07-10", pace_ms: "0" },
        }),
      ),
      (b) => fromBinary(TaskResponseSchema, b),
    );
    if (typeof accepted === "string") throw new Error(accepted);
    const status = () =>
      call(
        withClientCert(),
        "/agentplatform.v1.TaskWorker/GetTaskStatus",
        toBinary(
          TaskStatusRequestSchema,
          create(TaskStatusRequestSchema, {
            taskId: accepted.taskId,
            workerId: "itinerary-worker",
          }),
        ),
        (b) => fromBinary(TaskStatusResponseSchema, b),
      );
    const last = await eventually(
      async () => {
        const s = await status();
        if (typeof s === "string") throw new Error(s);
        return s.state === TaskState.RUNNING || s.state === TaskState.PENDING ? false : s;
      },
      { what: "the task to finish", timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(last.error).toBe("");
    expect(last.state).toBe(TaskState.SUCCEEDED);
  }, 30_000);

  it("refuses a client without a certificate, and one without TLS", async () => {
    expect(await echo(grpc.credentials.createSsl(readFileSync(certs.ca)), "x")).toMatch(
      /^UNAVAILABLE: /,
    );
    expect(await echo(grpc.credentials.createInsecure(), "x")).toMatch(/^UNAVAILABLE: /);
  });
});
