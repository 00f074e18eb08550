// The generated command lines are run for real: curl against a Connect server, buf curl
// against a gRPC server, both on loopback; each must reach the method with the request intact.
import { execFile } from "node:child_process";
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentService } from "../gen/agentplatform/v1/platform_pb";
import {
  bufCurlCommand,
  type CallSpec,
  curlCommand,
  envelopePrefix,
  grpcurlCommand,
  shellQuote,
} from "./copy-as";

const root = join(import.meta.dirname, "..");

function routes(router: ConnectRouter) {
  router.service(AgentService, {
    executeTask(req, ctx) {
      const trace = ctx.requestHeader.get("x-trace") ?? "";
      return {
        taskId: req.taskId,
        output: `Echo: ${req.input}${trace ? ` [${trace}]` : ""}`,
        success: true,
      };
    },
    async *streamTask(req) {
      for (let i = 0; i < 3; i++) yield { output: `part ${i} of ${req.input}`, sequence: i };
      yield { output: "done", done: true, sequence: 3 };
    },
  });
}

let h1: http.Server;
let h2: http2.Http2Server;
let gatewayUrl = "";
let frontDoor = "";

beforeAll(async () => {
  const handler = connectNodeAdapter({ routes });
  h1 = http.createServer(handler);
  h2 = http2.createServer(handler);
  await new Promise<void>((r) => h1.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => h2.listen(0, "127.0.0.1", r));
  gatewayUrl = `http://127.0.0.1:${(h1.address() as AddressInfo).port}`;
  frontDoor = `127.0.0.1:${(h2.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => h1.close(r));
  await new Promise((r) => h2.close(r));
});

function run(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "sh",
      ["-c", command],
      {
        cwd: root,
        timeout: 20_000,
        env: { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}` },
      },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

const unary: CallSpec = {
  method: "/agentplatform.v1.AgentService/ExecuteTask",
  requestJson: JSON.stringify({ agentId: "echo-agent", input: 'it\'s "quoted" $HOME' }, null, 2),
  metadata: { "x-trace": "abc 1" },
  timeoutMs: 5000,
  streaming: false,
  withToken: false,
};

describe("copy as", () => {
  it("quotes words so the shell passes them through unchanged", async () => {
    const tricky = `it's a "test" with $VAR and \\ backslash`;
    expect(await run(`printf '%s' ${shellQuote(tricky)}`)).toBe(tricky);
  });

  it("encodes the Connect envelope length big-endian", () => {
    expect(envelopePrefix(42)).toBe("\\000\\000\\000\\000\\052");
    expect(envelopePrefix(300)).toBe("\\000\\000\\000\\001\\054");
  });

  it("curl runs a unary call with metadata against a Connect endpoint", async () => {
    const out = JSON.parse(await run(curlCommand(unary, gatewayUrl)));
    expect(out.output).toBe(`Echo: it's "quoted" $HOME [abc 1]`);
  });

  it("curl runs a server-streaming call and prints every message", async () => {
    const out = await run(
      curlCommand(
        { ...unary, method: "/agentplatform.v1.AgentService/StreamTask", streaming: true },
        gatewayUrl,
      ),
    );
    expect(out).toContain("part 2 of it's");
    expect(out).toContain('"done":true');
  });

  it("buf curl reaches the method over gRPC with the repository's schema", async () => {
    const out = JSON.parse(await run(bufCurlCommand(unary, frontDoor)));
    expect(out.output).toBe(`Echo: it's "quoted" $HOME [abc 1]`);
  });

  it("grpcurl gets the address, method and a deadline in seconds", () => {
    const command = grpcurlCommand(unary, "127.0.0.1:50051");
    expect(command).toContain("-max-time 5");
    expect(command).toMatch(/127\.0\.0\.1:50051 agentplatform\.v1\.AgentService\/ExecuteTask$/);
  });

  it("asks for the token from the environment instead of embedding it", () => {
    const command = curlCommand({ ...unary, withToken: true }, gatewayUrl);
    expect(command).toContain(`"Authorization: Bearer $AGENTPLATFORM_TOKEN"`);
  });
});
