// Processes the benchmark starts: Node entry points that announce when they listen, and native
// proxies (nginx, HAProxy) waited on by port. Every child is stopped by its PID, also on Ctrl-C.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";

const readyPrefix = "BENCH_READY ";

/** Called by a child entry point once it serves: the parent reads this line from stdout. */
export function announceReady(info: Record<string, string>): void {
  process.stdout.write(`${readyPrefix}${JSON.stringify(info)}\n`);
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  /** Output kept for error messages when the child fails. */
  output(): string;
  stop(): Promise<void>;
}

const running = new Set<Child>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const child of running) {
      try {
        process.kill(child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  };
  process.once("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

function track(name: string, proc: ChildProcess): Child {
  installExitHook();
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`${name} did not start`);
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-8000);
  };
  proc.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const child: Child = {
    name,
    pid,
    output: () => output,
    async stop() {
      running.delete(child);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      process.kill(pid, "SIGTERM");
      const timer = setTimeout(() => {
        if (proc.exitCode === null && proc.signalCode === null) process.kill(pid, "SIGKILL");
      }, 3000);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(child);
  proc.stdout?.on("data", keep);
  return child;
}

/**
 * Runs a TypeScript entry point directly under node (so the PID is the serving process itself)
 * and resolves with what it announced.
 */
export async function startNodeChild(
  name: string,
  entry: string,
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<{ child: Child; info: Record<string, string> }> {
  // BENCH_NODE_ARGS passes extra node flags to the children, e.g. "--cpu-prof" to profile a hop.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== "");
  const proc = spawn(process.execPath, [...nodeArgs, "--import", "tsx", entry], {
    env: { ...process.env, ...env },
    // tsx resolves from the repository's node_modules.
    cwd: new URL("..", import.meta.url).pathname,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const child = track(name, proc);
  const stdout = proc.stdout;
  if (stdout === null) throw new Error(`${name}: no stdout`);
  const lines = createInterface({ input: stdout });
  try {
    const info = await new Promise<Record<string, string>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} not ready in ${timeoutMs} ms`)),
        timeoutMs,
      );
      proc.once("exit", (code) => reject(new Error(`${name} exited with ${code}`)));
      lines.on("line", (line) => {
        if (!line.startsWith(readyPrefix)) return;
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(readyPrefix.length)) as Record<string, string>);
      });
    });
    return { child, info };
  } catch (err) {
    await child.stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${child.output()}`);
  }
}

/** Starts a native program and waits until it accepts connections on `port`. */
export async function startNativeChild(
  name: string,
  command: string,
  args: string[],
  port: number,
  timeoutMs = 10_000,
): Promise<Child> {
  const proc = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  const child = track(name, proc);
  const deadline = Date.now() + timeoutMs;
  while (!(await accepts(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      await child.stop();
      throw new Error(`${name} did not start listening on ${port}:\n${child.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

let ticksPerSecond: number | undefined;

/** User + system CPU time a process has used, in microseconds (from /proc/PID/stat). */
export function cpuMicros(pid: number): number {
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1e6) / ticksPerSecond;
}

/** Full path of a program on the PATH or in the sbin folders (where nginx and haproxy live). */
export function findCommand(command: string): string | undefined {
  const folders = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  for (const folder of folders) {
    if (folder === "") continue;
    const path = join(folder, command);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}
