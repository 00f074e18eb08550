// Runs one allowed command as a child process in its own process group, without a shell, and
// passes its output on as it comes. Output waits for credit: once `windowBytes` are sent and not
// yet credited, the child's pipes are paused, so a slow reader slows the command instead of
// filling memory. Stopping (cancel, run-time limit, output limit) kills the whole group.
import { type ChildProcess, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { ExecEndReason, ExecStream } from "../../../gen/agentplatform/v1/exec_pb";
import type { ExecPlan } from "./exec-policy";

export interface ExecOutputChunk {
  stream: ExecStream;
  data: Uint8Array;
  offset: bigint;
}

export interface ExecProcessResult {
  exitCode: number | undefined;
  signal: string | undefined;
  reason: ExecEndReason;
  durationMs: number;
  stdoutBytes: bigint;
  stderrBytes: bigint;
  truncated: boolean;
  pid: number;
}

export interface ExecProcessOptions {
  plan: ExecPlan;
  /** Output bytes that may be unacknowledged before the pipes pause. */
  windowBytes: number;
  /** Time between SIGTERM and SIGKILL when the command is stopped, in ms. */
  killGraceMs: number;
  onOutput(chunk: ExecOutputChunk): void;
}

export interface ExecProcess {
  readonly pid: number;
  /** Output bytes the reader has taken: may resume paused pipes. */
  credit(bytes: number): void;
  /** Stops the command (the caller is gone); the result still resolves. */
  cancel(): void;
  readonly result: Promise<ExecProcessResult>;
}

/** Sends `signal` to every process in the group; false when none is left. */
function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

const cutMarker = (limit: number) =>
  Buffer.from(
    `\n[output cut at ${limit} bytes: the output limit was reached and the command was stopped]\n`,
  );

/** Spawns the plan's command; throws (ENOENT, EACCES) when it cannot start. */
export async function startExecProcess(options: ExecProcessOptions): Promise<ExecProcess> {
  const { plan } = options;
  const child: ChildProcess = spawn(plan.file, plan.args, {
    cwd: plan.cwd,
    // Next.js declares NODE_ENV as always present; a command gets only what the plan gives it.
    env: plan.env as NodeJS.ProcessEnv,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    windowsHide: true,
  });
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  // Errors after the spawn (none expected: signals go to the group, not through child.kill)
  // must not take the agent down.
  child.on("error", () => {});
  const pid = child.pid ?? 0;
  const startedAt = performance.now();
  const stdout = child.stdout as Readable;
  const stderr = child.stderr as Readable;
  let unacked = 0;
  let paused = false;
  let total = 0;
  const sent = { [ExecStream.STDOUT]: 0n, [ExecStream.STDERR]: 0n };
  const counted = { [ExecStream.STDOUT]: 0n, [ExecStream.STDERR]: 0n };
  let truncated = false;
  let stopReason: ExecEndReason | undefined;
  let exited = false;
  let exitedAt: number | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let stopping = false;

  const stop = (reason: ExecEndReason | undefined) => {
    if (stopping) return;
    stopping = true;
    // No more credit will come: drain the pipes (output past the window is dropped), or an
    // exited command whose output is still held back would never be reaped.
    stdout.resume();
    stderr.resume();
    if (exited) return;
    stopReason = reason;
    killGroup(pid, "SIGTERM");
    killTimer = setTimeout(() => killGroup(pid, "SIGKILL"), options.killGraceMs);
  };
  const runTimer = setTimeout(() => stop(ExecEndReason.TIMED_OUT), plan.runMs);

  const emit = (stream: ExecStream.STDOUT | ExecStream.STDERR, data: Uint8Array) => {
    options.onOutput({ stream, data, offset: sent[stream] });
    sent[stream] += BigInt(data.length);
    unacked += data.length;
  };

  const onData = (stream: ExecStream.STDOUT | ExecStream.STDERR) => (chunk: Buffer) => {
    // A stopped command's last words are passed on only while they fit the window.
    if (truncated || (stopping && unacked >= options.windowBytes)) return;
    const room = plan.maxOutputBytes - total;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    total += part.length;
    counted[stream] += BigInt(part.length);
    if (part.length > 0) emit(stream, part);
    if (part.length < chunk.length) {
      truncated = true;
      emit(stream, cutMarker(plan.maxOutputBytes));
      stop(ExecEndReason.OUTPUT_LIMIT);
      return;
    }
    if (!paused && unacked >= options.windowBytes && !stopping) {
      paused = true;
      stdout.pause();
      stderr.pause();
    }
  };
  stdout.on("data", onData(ExecStream.STDOUT));
  stderr.on("data", onData(ExecStream.STDERR));

  const result = new Promise<ExecProcessResult>((resolve) => {
    child.once("exit", () => {
      exited = true;
      exitedAt = performance.now();
      // Whatever the command left running in its group goes with it.
      killGroup(pid, "SIGKILL");
    });
    child.once("close", (code, signal) => {
      clearTimeout(runTimer);
      clearTimeout(killTimer);
      resolve({
        exitCode: code ?? undefined,
        signal: signal ?? undefined,
        reason: stopReason ?? ExecEndReason.EXITED,
        // Until the process ended, not until a slow reader took the last of its output.
        durationMs: (exitedAt ?? performance.now()) - startedAt,
        stdoutBytes: counted[ExecStream.STDOUT],
        stderrBytes: counted[ExecStream.STDERR],
        truncated,
        pid,
      });
    });
  });

  return {
    pid,
    credit(bytes) {
      unacked = Math.max(0, unacked - bytes);
      if (paused && unacked < options.windowBytes) {
        paused = false;
        stdout.resume();
        stderr.resume();
      }
    },
    cancel: () => stop(undefined),
    result,
  };
}
