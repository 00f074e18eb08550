import { describe, expect, it } from "vitest";
import { ExecEndReason, ExecStream } from "../../../gen/agentplatform/v1/exec_pb";
import type { ExecPlan } from "./exec-policy";
import { startExecProcess } from "./exec-process";

const plan = (args: string[], extra: Partial<ExecPlan> = {}): ExecPlan => ({
  file: "sh",
  args,
  cwd: process.cwd(),
  env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  runMs: 20_000,
  maxOutputBytes: 64 * 1024 * 1024,
  display: args.join(" "),
  ...extra,
});

describe("startExecProcess", () => {
  it("sends no more than its window until credit comes, then the rest in order", async () => {
    const windowBytes = 32 * 1024;
    const chunks: Buffer[] = [];
    let emitted = 0;
    const proc = await startExecProcess({
      plan: plan(["-c", "exec seq 200000"]),
      windowBytes,
      killGraceMs: 500,
      onOutput: (chunk) => {
        emitted += chunk.data.length;
        chunks.push(Buffer.from(chunk.data));
      },
    });
    // Without credit the output stops growing, one pipe read past the window at most.
    let last = -1;
    while (emitted !== last) {
      last = emitted;
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(emitted).toBeGreaterThanOrEqual(windowBytes);
    expect(emitted).toBeLessThanOrEqual(windowBytes + 64 * 1024);
    const credit = setInterval(() => proc.credit(windowBytes), 5);
    const result = await proc.result;
    clearInterval(credit);
    const text = Buffer.concat(chunks).toString();
    expect(text.endsWith("199999\n200000\n")).toBe(true);
    expect(text.split("\n")).toHaveLength(200001);
    expect(result).toMatchObject({ exitCode: 0, reason: ExecEndReason.EXITED, truncated: false });
    expect(result.stdoutBytes).toBe(BigInt(text.length));
  });

  it("kills the command when its run time is up and says so", async () => {
    const proc = await startExecProcess({
      plan: plan(["-c", "echo started; sleep 30"], { runMs: 300 }),
      windowBytes: 65536,
      killGraceMs: 200,
      onOutput: () => {},
    });
    const result = await proc.result;
    expect(result.reason).toBe(ExecEndReason.TIMED_OUT);
    expect(result.signal).toBe("SIGTERM");
    expect(result.exitCode).toBeUndefined();
  });

  it("SIGKILLs a command that ignores SIGTERM after the grace time", async () => {
    const chunks: ExecStream[] = [];
    const proc = await startExecProcess({
      plan: plan(["-c", "trap '' TERM; echo ready >&2; while :; do sleep 1; done"]),
      windowBytes: 65536,
      killGraceMs: 300,
      onOutput: (chunk) => chunks.push(chunk.stream),
    });
    while (chunks.length === 0) await new Promise((r) => setTimeout(r, 20));
    expect(chunks).toEqual([ExecStream.STDERR]);
    proc.cancel();
    const result = await proc.result;
    expect(result.signal).toBe("SIGKILL");
  });
});
