// `npm run bench:stack`: what `npm start` costs. Runs it, times it to "Agent platform is up" and to
// every registered service passing with the console answering, then adds up the resident memory
// (VmRSS) of every process it started, samples a few times, and stops it by PID.
//   npm run bench:stack [-- --command="npm start"] [--cwd=DIR] [--settle=10]
// Uses the documented ports (8500, 50051, 8080, 3000): run it where no other stack runs.
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

interface Options {
  command: string;
  cwd: string;
  /** Seconds to wait after every service passes before sampling memory. */
  settleSeconds: number;
  /** Gives up when the stack is not up after this long. */
  timeoutSeconds: number;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string) =>
    argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  for (const arg of argv) {
    if (!/^--(command|cwd|settle|timeout)=/.test(arg)) {
      throw new Error(
        `unknown option ${arg}\nusage: npm run bench:stack -- [--command="npm start"] [--cwd=DIR] [--settle=10] [--timeout=300]`,
      );
    }
  }
  const settleSeconds = Number(value("settle") ?? 10);
  const timeoutSeconds = Number(value("timeout") ?? 300);
  if (!(settleSeconds >= 0 && settleSeconds <= 120)) throw new Error("--settle: 0 to 120 seconds");
  if (!(timeoutSeconds > 0 && timeoutSeconds <= 1800)) throw new Error("--timeout: 1 to 1800");
  return {
    command: value("command") ?? "npm start",
    cwd: value("cwd") ?? process.cwd(),
    settleSeconds,
    timeoutSeconds,
  };
}

interface ProcessInfo {
  pid: number;
  ppid: number;
  rssKiB: number;
  command: string;
}

function readProcesses(): ProcessInfo[] {
  const all: ProcessInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      const field = (name: string) => new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(status)?.[1];
      const command = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
      all.push({
        pid: Number(entry),
        ppid: Number(field("PPid") ?? 0),
        rssKiB: Number(field("VmRSS") ?? 0),
        command,
      });
    } catch {
      // Gone meanwhile.
    }
  }
  return all;
}

/** `pid` and every process below it. */
function tree(pid: number): ProcessInfo[] {
  const all = readProcesses();
  const found: ProcessInfo[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift();
    for (const p of all) {
      if (p.pid === next) found.push(p);
      if (p.ppid === next) queue.push(p.pid);
    }
  }
  return found;
}

const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function allPassing(): Promise<boolean> {
  try {
    const services = Object.keys(
      (await (await fetch("http://127.0.0.1:8500/v1/catalog/services")).json()) as object,
    );
    if (services.length === 0) return false;
    for (const name of services) {
      const res = await fetch(`http://127.0.0.1:8500/v1/health/service/${name}?passing=true`);
      if (((await res.json()) as unknown[]).length === 0) return false;
    }
    return (await fetch("http://127.0.0.1:3000/services")).status === 200;
  } catch {
    return false;
  }
}

async function stop(child: ChildProcess, pids: number[]): Promise<void> {
  // The launcher stops its processes in order on SIGTERM; anything left after 30 s is killed.
  for (const p of tree(child.pid ?? 0)) {
    if (/scripts\/start\.(js|ts)/.test(p.command)) process.kill(p.pid, "SIGTERM");
  }
  const deadline = Date.now() + 30_000;
  const alive = () => pids.filter((pid) => readProcesses().some((p) => p.pid === pid));
  while (alive().length > 0 && Date.now() < deadline) await sleep(200);
  for (const pid of alive()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const started = performance.now();
  const child = spawn("sh", ["-c", options.command], {
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let upMs: number | undefined;
  let output = "";
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      output = (output + chunk).slice(-20_000);
      if (upMs === undefined && output.includes("Agent platform is up")) {
        upMs = performance.now() - started;
      }
    });
  }
  const seen = new Set<number>();
  try {
    const deadline = Date.now() + options.timeoutSeconds * 1000;
    while (upMs === undefined) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the stack did not come up:\n${output.slice(-3000)}`);
      }
      for (const p of tree(child.pid ?? 0)) seen.add(p.pid);
      await sleep(100);
    }
    while (!(await allPassing())) {
      if (Date.now() > deadline) throw new Error("not every service passed in time");
      await sleep(200);
    }
    const passingMs = performance.now() - started;
    await sleep(options.settleSeconds * 1000);
    const samples: ProcessInfo[][] = [];
    for (let i = 0; i < 5; i++) {
      const processes = tree(child.pid ?? 0);
      for (const p of processes) seen.add(p.pid);
      samples.push(processes);
      await sleep(1000);
    }
    const totals = samples
      .map((s) => s.reduce((sum, p) => sum + p.rssKiB, 0))
      .sort((a, b) => a - b);
    const last = samples.at(-1) ?? [];
    const say = (text: string) => process.stdout.write(`${text}\n`);
    say(`\ncommand: ${options.command} (in ${options.cwd})`);
    say(`"Agent platform is up" after ${seconds(upMs)}`);
    say(`every registered service passing and the console answering after ${seconds(passingMs)}`);
    say(`\n| process | RSS |\n| --- | --- |`);
    for (const p of [...last].sort((a, b) => b.rssKiB - a.rssKiB)) {
      say(`| ${p.command.slice(0, 90)} | ${mib(p.rssKiB)} |`);
    }
    say(
      `\nwhole stack: ${last.length} processes, RSS median ${mib(totals[2] ?? 0)} (min ${mib(totals[0] ?? 0)}, max ${mib(totals.at(-1) ?? 0)}) over 5 samples 1 s apart, ${options.settleSeconds} s after start-up`,
    );
  } finally {
    for (const p of tree(child.pid ?? 0)) seen.add(p.pid);
    await stop(child, [...seen]);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:stack failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
