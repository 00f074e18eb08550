// The whole local stack (as `npm start` runs it, minus the console) driven by a gRPC client we did
// not write: Python's grpcio with stubs generated from proto/ by grpc_tools.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePortBlock } from "../deploy/fixtures/processes";
import { type Stack, startStack } from "./stack";

const root = new URL("..", import.meta.url).pathname;
// Debian's interpreter carries python3-grpcio and python3-grpc-tools.
const python = "/usr/bin/python3";

let stack: Stack;
let stubs: string;
let dataDir: string;

beforeAll(async () => {
  stubs = mkdtempSync(join(tmpdir(), "seed-stubs-"));
  dataDir = mkdtempSync(join(tmpdir(), "seed-data-"));
  execFileSync(python, [
    "-m",
    "grpc_tools.protoc",
    `-I${join(root, "proto")}`,
    `--python_out=${stubs}`,
    `--grpc_python_out=${stubs}`,
    "agentplatform/v1/platform.proto",
  ]);
  const lines: string[] = [];
  stack = await startStack({
    basePort: await freePortBlock(7),
    withConsole: false,
    dataDir,
    onLine: (name, line) => lines.push(`${name}| ${line}`),
  }).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}\n${lines.slice(-40).join("\n")}`);
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(stubs, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe("the local stack, called by Python's grpcio through the front door", () => {
  it("echoes, lists agents, streams, reaches the dial-in agent, and answers NOT_FOUND for an unknown id", () => {
    const out = execFileSync(
      python,
      [join(root, "scripts/seed_client.py"), stubs, stack.frontDoorAddress],
      { encoding: "utf8", timeout: 60_000 },
    );
    const result = JSON.parse(out) as {
      execute: { task_id: string; output: string; success: boolean };
      agents: { agent_id: string }[];
      unknown: { code: string; details: string };
      stream: string[];
      dial_in: { output: string; success: boolean };
    };
    expect(result.execute).toEqual({
      task_id: "task-123",
      output: "Echo: Hello, World!",
      success: true,
    });
    expect(result.agents.map((a) => a.agent_id)).toContain("echo-agent");
    expect(result.unknown.code).toBe("NOT_FOUND");
    expect(result.unknown.details).toContain("no-such-agent");
    expect(result.stream.length).toBeGreaterThan(1);
    expect(result.stream.at(-1)).toContain("a b c");
    expect(result.dial_in.success).toBe(true);
    expect(result.dial_in.output).toContain("BEHIND NAT");
  });
});
