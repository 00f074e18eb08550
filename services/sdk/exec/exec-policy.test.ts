import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecRequestSchema } from "../../../gen/agentplatform/v1/exec_pb";
import { createExecPolicy, type ExecPlan, planExec } from "./exec-policy";

let dir: string;
let data: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "exec-policy-"));
  data = join(dir, "data");
  mkdirSync(join(data, "logs"), { recursive: true });
  // A link inside the allowed directory that points out of it.
  symlinkSync("/etc", join(data, "escape"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const policy = () =>
  createExecPolicy({
    commands: [
      { command: "ls", args: ["-l", { pathUnder: [data] }] },
      { command: "sleep", args: [/\d{1,3}/], maxArgs: 1 },
      { command: "uptime" },
    ],
    workingDirs: [data],
    env: ["APP_*", "TZ"],
    maxRunMs: 10_000,
    maxOutputBytes: 4096,
  });

const plan = (init: Parameters<typeof create<typeof ExecRequestSchema>>[1]) =>
  planExec(policy(), create(ExecRequestSchema, init));

const refusal = (result: ExecPlan | ConnectError) =>
  result instanceof ConnectError ? [Code[result.code], result.rawMessage] : ["allowed", ""];

describe("planExec", () => {
  it("allows listed commands with matching arguments, in the allowed directory", () => {
    const ok = plan({ command: "ls", args: ["-l", "logs"], workingDir: data, env: { TZ: "UTC" } });
    expect(ok).toMatchObject({ file: "ls", args: ["-l", "logs"], cwd: data });
    expect(ok instanceof ConnectError ? undefined : ok.env).toMatchObject({
      TZ: "UTC",
      LANG: "C.UTF-8",
    });
    expect(plan({ command: "sleep", args: ["30"] })).toMatchObject({ args: ["30"], cwd: data });
  });

  it("refuses, naming the rule, what the allowlist does not cover", () => {
    expect(refusal(plan({ command: "rm" }))[1]).toMatch(
      /commands rule: "rm" is not an allowed command \(allowed: ls, sleep, uptime\)/,
    );
    expect(refusal(plan({ command: "uptime", args: ["-p"] }))[1]).toMatch(
      /args of uptime rule: uptime takes no arguments/,
    );
    // A pattern must match the whole argument.
    expect(refusal(plan({ command: "sleep", args: ["30;reboot"] }))[0]).toBe("PermissionDenied");
    expect(refusal(plan({ command: "sleep", args: ["1", "2"] }))[1]).toMatch(/at most 1 arguments/);
    // Paths are resolved, symlinks included, before they are compared.
    expect(refusal(plan({ command: "ls", args: ["escape"] }))[1]).toMatch(
      /argument "escape" is not allowed/,
    );
    expect(refusal(plan({ command: "ls", args: ["logs/../.."] }))[0]).toBe("PermissionDenied");
    // Options are not paths.
    expect(refusal(plan({ command: "ls", args: ["--color=always"] }))[0]).toBe("PermissionDenied");
    expect(refusal(plan({ command: "ls", workingDir: join(data, "escape") }))[1]).toMatch(
      /working_dirs rule/,
    );
    expect(refusal(plan({ command: "ls", env: { PATH: "/tmp" } }))[1]).toMatch(
      /env rule: variable PATH may not be set \(allowed: APP_\*, TZ\)/,
    );
    expect(refusal(plan({ command: "ls", shell: true }))[1]).toMatch(/shell rule/);
  });

  it("takes the lower of the request's and the agent's bounds", () => {
    expect(plan({ command: "uptime", timeoutMs: 500, maxOutputBytes: 100_000n })).toMatchObject({
      runMs: 500,
      maxOutputBytes: 4096,
    });
    expect(plan({ command: "uptime" })).toMatchObject({ runMs: 10_000, maxOutputBytes: 4096 });
  });

  it("rejects malformed input as INVALID_ARGUMENT and is off without commands", () => {
    expect(refusal(plan({ command: "ls", args: ["a\0b"] }))[0]).toBe("InvalidArgument");
    expect(refusal(plan({ command: "ls", env: { "A=B": "x" } }))[0]).toBe("InvalidArgument");
    const off = planExec(
      createExecPolicy({ commands: [] }),
      create(ExecRequestSchema, { command: "ls" }),
    );
    expect(refusal(off)[1]).toMatch(/exec is not enabled on this agent/);
  });
});
