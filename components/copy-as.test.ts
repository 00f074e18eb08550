// The generated command lines are run for real: curl against a Connect server, buf curl
// against a gRPC server, both on loopback; each must reach the method with the request intact.
import { execFile } from "node:child_process";
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentService } from "../gen/agentplatform/v1/platform_pb";
import { createReflectionIndex, reflectionRoutes } from "../platform/reflection";
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
  reflectionRoutes(createReflectionIndex([AgentService]))(router);
  router.service(AgentService, {
    executeTask(req, ctx) {
      const trace = ctx.requestHeader.get("x-trace") ?? "";
      return {
        taskId: req.taskId,
        output: `Echo: ${req.input}${trace ? ` [${trace}]` : ""}`,
        success: true,
      };
    },
    async *streamTask(req, ctx) {
      seenTimeoutMs = ctx.timeoutMs();
      if (req.input === "slow") {
        await new Promise((r) => setTimeout(r, 3000));
        ctx.signal.throwIfAborted();
      }
      for (let i = 0; i < 3; i++) yield { output: `part ${i} of ${req.input}`, sequence: i };
      yield { output: "done", done: true, sequence: 3 };
    },
  });
}

/** The deadline the last StreamTask arrived with, as the server saw it. */
let seenTimeoutMs: number | undefined;
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

/** Runs a command line; `cwd` defaults to a directory with no proto/ in it. */
function run(command: string, cwd = tmpdir()): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "sh",
      ["-c", command],
      {
        cwd,
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

  it("buf curl reaches the method over gRPC by reflection, from any directory", async () => {
    const out = JSON.parse(await run(bufCurlCommand(unary, frontDoor)));
    expect(out.output).toBe(`Echo: it's "quoted" $HOME [abc 1]`);
  });

  it("buf curl can use the repository's schema instead, from its root", async () => {
    const command = bufCurlCommand(unary, frontDoor, { localSchema: true });
    expect(command).toContain("--schema proto");
    const out = JSON.parse(await run(command, root));
    expect(out.output).toBe(`Echo: it's "quoted" $HOME [abc 1]`);
  });

  it("buf curl sends the deadline to the server", async () => {
    const slow: CallSpec = {
      ...unary,
      method: "/agentplatform.v1.AgentService/StreamTask",
      requestJson: JSON.stringify({ input: "slow" }),
      timeoutMs: 300,
      streaming: true,
    };
    const failure = await run(bufCurlCommand(slow, frontDoor)).then(
      () => "",
      (err: Error) => err.message,
    );
    expect(failure).toContain("deadline exceeded");
    expect(seenTimeoutMs).toBeGreaterThan(0);
    expect(seenTimeoutMs).toBeLessThanOrEqual(300);
  });

  it("grpcurl uses reflection by default and keeps the deadline to the millisecond", () => {
    const command = grpcurlCommand({ ...unary, timeoutMs: 1500 }, "127.0.0.1:50051");
    expect(command).toContain("-max-time 1.5");
    expect(command).not.toContain("-proto");
    expect(command).toMatch(/127\.0\.0\.1:50051 agentplatform\.v1\.AgentService\/ExecuteTask$/);
    expect(grpcurlCommand(unary, "x:1", { localSchema: true })).toContain("-import-path proto");
  });

  it("asks for the token from the environment instead of embedding it", () => {
    const command = curlCommand({ ...unary, withToken: true }, gatewayUrl);
    expect(command).toContain(`"Authorization: Bearer $AGENTPLATFORM_TOKEN"`);
  });
});
