// Starts edge-process.ts children (a registry with an agent, a router, and a front door in
// front of it), reads their resident memory from /proc, and runs a healthy caller beside an
// attack to see whether it notices.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AgentService } from "../../../gen/agentplatform/v1/platform_pb";

const script = fileURLToPath(new URL("./edge-process.ts", import.meta.url));

export interface EdgeProcess {
  readonly pid: number;
  readonly port: number;
  readonly info: Record<string, unknown>;
  /** Resident set size now, in bytes (VmRSS). */
  rss(): number;
  /** The agent's counters (backend process only). */
  stats(): Promise<{ agentStreams: number; agentCalls: number }>;
  stop(): Promise<void>;
}

export async function startEdgeProcess(
  role: "backend" | "router" | "front-door",
  env: Record<string, string>,
): Promise<EdgeProcess> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", script, role], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`edge ${role} process did not start`);
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const statsWaiters: ((s: { agentStreams: number; agentCalls: number }) => void)[] = [];
  const info = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`edge ${role} not ready: ${stderr}`)), 30_000);
    child.once("exit", (code) => reject(new Error(`edge ${role} exited ${code}: ${stderr}`)));
    lines.on("line", (line) => {
      if (line.startsWith("EDGE_READY ")) {
        clearTimeout(timer);
        resolve(JSON.parse(line.slice(11)) as Record<string, unknown>);
      } else if (line.startsWith("EDGE_STATS ")) {
        statsWaiters.shift()?.(JSON.parse(line.slice(11)));
      }
    });
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    pid,
    port: Number(info.port),
    info,
    rss() {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      return Number(kb ?? 0) * 1024;
    },
    stats() {
      return new Promise((resolve) => {
        statsWaiters.push(resolve);
        child.stdin?.write("stats\n");
      });
    },
    async stop() {
      child.stdin?.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Samples a process's RSS every 25 ms while `during` runs; returns the peak growth in bytes. */
export async function peakRssGrowth(
  process: EdgeProcess,
  during: () => Promise<void>,
): Promise<number> {
  const before = process.rss();
  let peak = before;
  const sampler = setInterval(() => {
    try {
      peak = Math.max(peak, process.rss());
    } catch {
      // The process is gone; the test says so elsewhere.
    }
  }, 25);
  try {
    await during();
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.rss());
  return peak - before;
}

export interface HealthyCaller {
  ok: number;
  failed: number;
  errors: string[];
  stop(): Promise<void>;
}

/**
 * Calls ExecuteTask through `port` over its own connection, one call after another with a 10 s
 * deadline (generous: the machine may be busy), until stopped: what a user beside the attacker sees.
 */
export function startHealthyCaller(port: number): HealthyCaller {
  const client = createClient(
    AgentService,
    createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }),
  );
  let running = true;
  const caller: HealthyCaller = {
    ok: 0,
    failed: 0,
    errors: [],
    stop: async () => {
      running = false;
      await loop;
    },
  };
  const loop = (async () => {
    while (running) {
      try {
        const res = await client.executeTask(
          { agentId: "echo-agent", input: "ok?" },
          { timeoutMs: 10_000 },
        );
        if (res.output === "Echo: ok?") caller.ok++;
        else caller.failed++;
      } catch (err) {
        caller.failed++;
        if (caller.errors.length < 5) caller.errors.push(String(err));
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return caller;
}
