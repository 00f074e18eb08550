// Router CPU per forwarded call, and throughput and latency through it next to the backend
// direct and next to the least a node:http2 hop can cost (bench/passthrough-floor-process.ts),
// over a fixed number of calls, so the numbers hold up on a busy machine:
//   npx tsx bench/profile-router.ts [--calls=20000] [--rounds=3] [--backend=tiny|echo]
//                                   [--grpc-timeout=5S] [--token] [--cpu-prof=DIR]
// CPU comes from /proc (user + system of the router process) over exactly --calls calls.
// --backend=tiny (default) answers from a raw HTTP/2 server that costs little, so the router is
// what is measured; --backend=echo uses the real echo agent. --grpc-timeout sends that deadline
// with every call. --token turns service-token checks on in the router (JWT_SECRET) and sends a
// valid bearer token with every call. --cpu-prof writes a V8 CPU profile of the router to DIR when it exits.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { signJwt } from "../platform/auth/jwt-token";
import { createLogger } from "../platform/log";
import { startEmbeddedRegistry } from "../registry/embedded/embedded-registry";
import { type Child, cpuMicros, findCommand, startNodeChild } from "./child-process";
import { type LoadResult, parseH2load } from "./h2load";
import { checkOneCall } from "./measure-cell";
import { executeTaskPath, grpcRequestHeaders, writeTaskRequestFrame } from "./request-frame";

interface ProfileOptions {
  calls: number;
  rounds: number;
  backend: "tiny" | "echo";
  grpcTimeout: string | undefined;
  token: boolean;
  cpuProfDir: string | undefined;
}

const say = (text: string) => process.stdout.write(`${text}\n`);
const entry = (file: string) => new URL(file, import.meta.url).pathname;

function parseOptions(argv: readonly string[]): ProfileOptions {
  const value = (name: string) =>
    argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  for (const arg of argv) {
    if (arg !== "--token" && !/^--(calls|rounds|backend|grpc-timeout|cpu-prof)=/.test(arg)) {
      throw new Error(`unknown option ${arg}`);
    }
  }
  const calls = Number(value("calls") ?? 20_000);
  const rounds = Number(value("rounds") ?? 3);
  const backend = value("backend") ?? "tiny";
  if (!Number.isInteger(calls) || calls < 100 || calls > 1_000_000) {
    throw new Error("--calls must be a whole number from 100 to 1000000");
  }
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10) {
    throw new Error("--rounds must be a whole number from 1 to 10");
  }
  if (backend !== "tiny" && backend !== "echo") throw new Error("--backend is tiny or echo");
  const grpcTimeout = value("grpc-timeout");
  if (grpcTimeout !== undefined && !/^\d{1,8}[HMSmun]$/.test(grpcTimeout)) {
    throw new Error("--grpc-timeout is a gRPC timeout such as 5S or 500m");
  }
  return {
    calls,
    rounds,
    backend,
    grpcTimeout,
    token: argv.includes("--token"),
    cpuProfDir: value("cpu-prof"),
  };
}

/** h2load over a fixed number of requests (-n), bounded in time. */
function h2loadCalls(
  url: string,
  load: { connections: number; streams: number; calls: number },
  files: { bodyFile: string; logFile: string; headers: readonly string[] },
): Promise<LoadResult> {
  const headers = [...grpcRequestHeaders, ...files.headers];
  const args = [
    `--requests=${load.calls}`,
    `--clients=${load.connections}`,
    `--max-concurrent-streams=${load.streams}`,
    "--threads=1",
    `--data=${files.bodyFile}`,
    ...headers.flatMap((h) => ["--header", h]),
    `--log-file=${files.logFile}`,
    url,
  ];
  return new Promise((resolve, reject) => {
    execFile("h2load", args, { timeout: 120_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => {
      if (err) return reject(new Error(`h2load failed: ${err.message}\n${stdout}`));
      try {
        resolve(parseH2load(stdout, readFileSync(files.logFile, "utf8")));
      } catch (parseErr) {
        reject(parseErr);
      } finally {
        rmSync(files.logFile, { force: true });
      }
    });
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (findCommand("h2load") === undefined) throw new Error("h2load is not installed");
  const dir = mkdtempSync(join(tmpdir(), "agent-platform-profile-"));
  const secret = randomBytes(32).toString("hex");
  const extraHeaders: string[] = [];
  const checkHeaders: Record<string, string> = {};
  if (options.grpcTimeout) extraHeaders.push(`grpc-timeout: ${options.grpcTimeout}`);
  if (options.token) {
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const token = signJwt({ sub: "bench", exp }, { alg: "HS256", secret });
    extraHeaders.push(`authorization: Bearer ${token}`);
    checkHeaders.authorization = `Bearer ${token}`;
  }
  const files = {
    bodyFile: join(dir, "task-request.bin"),
    logFile: join(dir, "h2load.log"),
    headers: extraHeaders,
  };
  writeTaskRequestFrame(files.bodyFile);
  const registry = await startEmbeddedRegistry({
    port: 0,
    logger: createLogger("registry", { level: "warn" }),
  });
  const env = { BENCH_CONSUL_ADDR: registry.address };
  const children: Child[] = [];
  try {
    const backendEntry =
      options.backend === "tiny" ? "tiny-backend-process.ts" : "echo-agent-process.ts";
    const backend = await startNodeChild("backend", entry(backendEntry), env);
    children.push(backend.child);
    const routerEnv: Record<string, string> = { ...env };
    if (options.token) routerEnv.JWT_SECRET = secret;
    if (options.cpuProfDir) {
      routerEnv.BENCH_NODE_ARGS = `--cpu-prof --cpu-prof-dir=${options.cpuProfDir}`;
    }
    const previousArgs = process.env.BENCH_NODE_ARGS;
    if (options.cpuProfDir) process.env.BENCH_NODE_ARGS = routerEnv.BENCH_NODE_ARGS;
    const router = await startNodeChild("router", entry("router-process.ts"), routerEnv);
    if (previousArgs === undefined) delete process.env.BENCH_NODE_ARGS;
    else process.env.BENCH_NODE_ARGS = previousArgs;
    children.push(router.child);
    const direct = backend.info.address ?? "";
    const floor = await startNodeChild("floor", entry("passthrough-floor-process.ts"), {
      BENCH_BACKEND_ADDR: direct,
    });
    children.push(floor.child);
    const hops = [
      { name: "router", address: router.info.address ?? "", child: router.child },
      { name: "floor", address: floor.info.address ?? "", child: floor.child },
    ];
    await checkOneCall({ name: "direct", address: direct, hop: undefined });
    for (const hop of hops) await checkOneCall({ ...hop, hop: hop.child }, 20_000, checkHeaders);

    say(
      `load average at start: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    );
    say(
      `backend ${options.backend}, ${options.calls} calls per 4x10 run, ${options.rounds} round(s)${options.token ? ", service tokens checked by the router" : ""}; "floor" is bench/passthrough-floor-process.ts`,
    );
    const url = (address: string) => `http://${address}${executeTaskPath}`;
    // Warm the JIT and pooled sessions before anything counts.
    const warm = { connections: 4, streams: 10, calls: Math.min(options.calls, 5000) };
    for (const hop of hops) await h2loadCalls(url(hop.address), warm, files);

    const load = { connections: 4, streams: 10, calls: options.calls };
    const serial = {
      connections: 1,
      streams: 1,
      calls: Math.max(500, Math.floor(options.calls / 10)),
    };
    const samples = new Map(
      hops.map((h) => [
        h.name,
        { cpu: [] as number[], ratio: [] as number[], addedP50: [] as number[] },
      ]),
    );
    for (let round = 0; round < options.rounds; round++) {
      const d = await h2loadCalls(url(direct), load, files);
      const d1 = await h2loadCalls(url(direct), serial, files);
      const parts = [
        `4x10 direct ${d.requestsPerSecond.toFixed(0)} req/s, 1x1 p50 ${d1.p50Ms.toFixed(3)} ms`,
      ];
      for (const hop of hops) {
        const before = cpuMicros(hop.child.pid);
        const r = await h2loadCalls(url(hop.address), load, files);
        const perCall = (cpuMicros(hop.child.pid) - before) / r.done;
        const r1 = await h2loadCalls(url(hop.address), serial, files);
        const bad = d.unsuccessful + d1.unsuccessful + r.unsuccessful + r1.unsuccessful;
        if (bad > 0)
          throw new Error(`round ${round + 1}, ${hop.name}: ${bad} unsuccessful requests`);
        const sample = samples.get(hop.name);
        sample?.cpu.push(perCall);
        sample?.ratio.push(r.requestsPerSecond / d.requestsPerSecond);
        sample?.addedP50.push(r1.p50Ms - d1.p50Ms);
        parts.push(
          `${hop.name} ${perCall.toFixed(1)} µs/call, ${r.requestsPerSecond.toFixed(0)} req/s (${(r.requestsPerSecond / d.requestsPerSecond).toFixed(2)}x), 1x1 p50 ${r1.p50Ms.toFixed(3)} ms`,
        );
      }
      say(`round ${round + 1}: ${parts.join("; ")}`);
    }
    for (const [name, sample] of samples) {
      say(
        `median ${name}: CPU ${median(sample.cpu).toFixed(1)} µs/call, throughput ${median(sample.ratio).toFixed(2)}x direct, added p50 at 1x1 ${median(sample.addedP50).toFixed(3)} ms`,
      );
    }
  } finally {
    for (const child of children.reverse()) await child.stop();
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`profile failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
