// Starts the whole local platform as child processes: registry, services, routers, gateway and
// console, each one compiled (dist/, built first when stale) and run by plain node. Used by
// `npm start` (scripts/start.ts, itself run from dist/) and by the tests that need the whole stack.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureLocalAgentToken } from "../router/agent-link/local-agent-tokens";

/** The repository: the nearest folder above this file with package-lock.json (dist/ has none). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package-lock.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the repository (no package-lock.json above)");
    dir = parent;
  }
  return dir;
}

const root = findRoot();
const require = createRequire(import.meta.url);

export interface StackOptions {
  /**
   * First of a block of consecutive ports for every fixed listener. Default: the documented ports
   * (registry 8500, front door 50051, browser endpoint 8080, console 3000, services 50052-50054).
   */
  basePort?: number;
  /** Use this Consul instead of starting the embedded registry. Default: CONSUL_HTTP_ADDR. */
  consulAddress?: string;
  /** Routers to run. Default 2. */
  routers?: number;
  /** Run the Next.js console (building it first when needed). Default true. */
  withConsole?: boolean;
  /** Gateway tokens file; turns console sign-in on. Default: none (loopback only, no sign-in). */
  tokensFile?: string;
  /** Where workers and the gateway keep state. Default .data/ in the repository. */
  dataDir?: string;
  /** Extra environment for every process. */
  env?: Record<string, string>;
  /** Receives every output line of every process. Default: written to stdout with a name prefix. */
  onLine?: (process: string, line: string) => void;
}

export interface Stack {
  consoleUrl: string;
  gatewayUrl: string;
  frontDoorAddress: string;
  registryAddress: string;
  processNames(): string[];
  stopProcess(name: string): Promise<void>;
  startProcess(name: string): Promise<void>;
  stop(): Promise<void>;
}

interface ProcessSpec {
  name: string;
  command: string[];
  env: Record<string, string>;
  /** Resolves when the process is ready to serve. */
  ready: () => Promise<void>;
}

const palette = [36, 33, 35, 32, 34, 91, 92, 93, 94, 95, 96];

function defaultOnLine(): (name: string, line: string) => void {
  const colours = new Map<string, number>();
  const tty = process.stdout.isTTY;
  return (name, line) => {
    if (!colours.has(name)) colours.set(name, palette[colours.size % palette.length] ?? 36);
    const label = name.padEnd(11);
    const prefix = tty ? `\x1b[${colours.get(name)}m${label}\x1b[0m` : label;
    process.stdout.write(`${prefix}| ${line}\n`);
  };
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  { timeoutMs = 60_000, intervalMs = 200 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function servicePassing(registry: string, service: string, min = 1): Promise<boolean> {
  const res = await fetch(`${registry}/v1/health/service/${service}?passing=true`);
  if (!res.ok) return false;
  return ((await res.json()) as unknown[]).length >= min;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** True when .next holds a production build newer than every console source file. */
export function consoleBuildIsFresh(): boolean {
  const buildId = join(root, ".next", "BUILD_ID");
  if (!existsSync(buildId)) return false;
  const built = statSync(buildId).mtimeMs;
  const sources = ["app", "components", "gen"].map((d) => join(root, d)).filter(existsSync);
  const configs = ["next.config.ts", "package-lock.json"]
    .map((f) => join(root, f))
    .filter(existsSync);
  return [...sources.map(newestMtime), ...configs.map((f) => statSync(f).mtimeMs)].every(
    (m) => m < built,
  );
}

/** Compiles the servers to dist/ when a source changed since the last build (scripts/build.mjs). */
export async function buildServersIfStale(
  onLine: (name: string, line: string) => void,
): Promise<void> {
  const script = join(root, "scripts", "build.mjs");
  await runToCompletion("build", [process.execPath, script, "--if-stale"], {}, onLine);
}

export async function buildConsole(onLine: (name: string, line: string) => void): Promise<void> {
  const next = require.resolve("next/dist/bin/next");
  await runToCompletion("build", [process.execPath, next, "build"], {}, onLine);
}

function pipeLines(child: ChildProcess, name: string, onLine: (n: string, l: string) => void) {
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) onLine(name, line);
    });
    stream?.on("end", () => {
      if (buffered) onLine(name, buffered);
    });
  }
}

function runToCompletion(
  name: string,
  command: string[],
  env: Record<string, string>,
  onLine: (n: string, l: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const [bin, ...args] = command;
    const child = spawn(bin ?? process.execPath, args, {
      cwd: root,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    pipeLines(child, name, onLine);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${name} exited with code ${code}`)),
    );
  });
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const onLine = options.onLine ?? defaultOnLine();
  const base = options.basePort;
  const port = (fallback: number, offset: number) =>
    base === undefined ? fallback : base + offset;
  const ports = {
    registry: port(8500, 0),
    frontDoor: port(50051, 1),
    browser: port(8080, 2),
    console: port(3000, 3),
    echo: port(50052, 4),
    weather: port(50053, 5),
    itinerary: port(50054, 6),
  };
  const embedded = !(options.consulAddress ?? process.env.CONSUL_HTTP_ADDR);
  const registryUrl = embedded
    ? `http://127.0.0.1:${ports.registry}`
    : (options.consulAddress ?? process.env.CONSUL_HTTP_ADDR ?? "");
  const registry = /^https?:\/\//.test(registryUrl) ? registryUrl : `http://${registryUrl}`;
  const dataDir = options.dataDir ?? join(root, ".data");
  mkdirSync(dataDir, { recursive: true });
  const consoleUrl = `http://localhost:${ports.console}`;
  const gatewayUrl = `http://localhost:${ports.browser}`;
  const common: Record<string, string> = {
    CONSUL_HTTP_ADDR: registry,
    NEXT_TELEMETRY_DISABLED: "1",
    ...options.env,
  };
  // Compiled entry points: services/echo/main.ts runs as dist/services/echo/main.js.
  const compiled = (entry: string) => [
    process.execPath,
    "--enable-source-maps",
    join(root, "dist", entry.replace(/\.ts$/, ".js")),
  ];
  const grpcReady = (p: number) => () => waitFor(`port ${p}`, () => portOpen("127.0.0.1", p));
  const registered =
    (service: string, min = 1) =>
    () =>
      waitFor(`${service} healthy in the registry`, () => servicePassing(registry, service, min));

  const specs: ProcessSpec[] = [];
  if (embedded) {
    specs.push({
      name: "registry",
      command: compiled("registry/main.ts"),
      env: { REGISTRY_HOST: "127.0.0.1", REGISTRY_PORT: String(ports.registry) },
      ready: () =>
        waitFor("the registry", async () => (await fetch(`${registry}/v1/status/leader`)).ok),
    });
  }
  const service = (name: string, entry: string, p: number, consulName: string): ProcessSpec => ({
    name,
    command: compiled(entry),
    env: { GRPC_SERVER_HOST: "127.0.0.1", GRPC_SERVER_PORT: String(p) },
    ready: registered(consulName),
  });
  specs.push(service("echo", "services/echo/main.ts", ports.echo, "agent-echo"));
  specs.push(service("weather", "services/weather/main.ts", ports.weather, "tool-weather"));
  // Dial-in agents authenticate with per-agent tokens; the routers read the hashed file.
  const natAgent = existsSync(join(root, "services/nat-agent/main.ts"))
    ? ensureLocalAgentToken("nat-agent", dataDir)
    : undefined;
  const routers = options.routers ?? 2;
  for (let i = 1; i <= routers; i++) {
    specs.push({
      name: `router-${i}`,
      command: compiled("router/main.ts"),
      env: {
        GRPC_SERVER_HOST: "127.0.0.1",
        GRPC_SERVER_PORT: "0",
        ROUTER_ID: `router-${i}`,
        ...(natAgent ? { AGENT_LINK_TOKENS_FILE: natAgent.tokensFile } : {}),
        AGENT_LINK_EXEC_AUDIT_FILE: join(dataDir, "agent-link", "exec-audit.jsonl"),
      },
      ready: () => registered("grpc-router", i)(),
    });
  }
  specs.push({
    ...service("itinerary", "services/itinerary/main.ts", ports.itinerary, "worker-itinerary"),
    env: {
      GRPC_SERVER_HOST: "127.0.0.1",
      GRPC_SERVER_PORT: String(ports.itinerary),
      WORKER_DATA_DIR: join(dataDir, "itinerary"),
    },
  });
  specs.push({
    name: "gateway",
    command: compiled("gateway/main.ts"),
    env: {
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_GRPC_PORT: String(ports.frontDoor),
      GATEWAY_HTTP_PORT: String(ports.browser),
      GATEWAY_CORS_ORIGINS: `http://localhost:${ports.console},http://127.0.0.1:${ports.console}`,
      GATEWAY_AUDIT_LOG: join(dataDir, "audit.log"),
      ...(options.tokensFile ? { GATEWAY_TOKENS_FILE: options.tokensFile } : {}),
    },
    ready: async () => {
      await grpcReady(ports.frontDoor)();
      await grpcReady(ports.browser)();
    },
  });
  if (natAgent) {
    specs.push({
      name: "nat-agent",
      command: compiled("services/nat-agent/main.ts"),
      env: {
        AGENT_LINK_ROUTER_ADDRESS: `127.0.0.1:${ports.frontDoor}`,
        AGENT_TOKEN_FILE: natAgent.tokenFile,
        NAT_AGENT_DATA_DIR: join(dataDir, "nat-agent"),
      },
      ready: registered("agent-nat"),
    });
  }
  if (options.withConsole ?? true) {
    specs.push({
      name: "console",
      command: [
        process.execPath,
        require.resolve("next/dist/bin/next"),
        "start",
        "-p",
        String(ports.console),
        "-H",
        "127.0.0.1",
      ],
      env: { GATEWAY_PUBLIC_URL: gatewayUrl },
      ready: () => waitFor("the console", async () => (await fetch(`${consoleUrl}/`)).status < 500),
    });
  }

  const children = new Map<string, ChildProcess>();
  let stopping = false;

  const launch = async (spec: ProcessSpec) => {
    const [bin, ...args] = spec.command;
    const child = spawn(bin ?? process.execPath, args, {
      cwd: root,
      env: { ...process.env, ...common, ...spec.env },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group: a terminal's Ctrl-C reaches only the launcher, which then
      // stops the processes in order (registry last) instead of all at once.
      detached: true,
    });
    children.set(spec.name, child);
    pipeLines(child, spec.name, onLine);
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code, signal) => {
        if (children.get(spec.name) === child) children.delete(spec.name);
        if (!stopping) onLine(spec.name, `exited (${signal ?? `code ${code}`})`);
        reject(new Error(`${spec.name} exited (${signal ?? `code ${code}`}) before it was ready`));
      }),
    );
    exited.catch(() => {});
    await Promise.race([spec.ready(), exited]);
  };

  const stopChild = (name: string, timeoutMs = 20_000): Promise<void> => {
    const child = children.get(name);
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill("SIGTERM");
    });
  };

  const stop = async () => {
    stopping = true;
    // Reverse start order, registry last, so every service can deregister itself.
    for (const spec of [...specs].reverse()) await stopChild(spec.name);
  };

  try {
    await buildServersIfStale(onLine);
    if (specs.some((s) => s.name === "console") && !consoleBuildIsFresh()) {
      onLine("build", "building the console (next build)...");
      await buildConsole(onLine);
    }
    // Start in dependency order; independent processes of one stage start together.
    const stages: string[][] = [
      ["registry"],
      ["echo", "weather", ...specs.filter((s) => s.name.startsWith("router-")).map((s) => s.name)],
      ["itinerary", "gateway"],
      ["nat-agent", "console"],
    ];
    for (const stage of stages) {
      await Promise.all(specs.filter((s) => stage.includes(s.name)).map(launch));
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    consoleUrl,
    gatewayUrl,
    frontDoorAddress: `127.0.0.1:${ports.frontDoor}`,
    registryAddress: registry,
    processNames: () => specs.map((s) => s.name),
    stopProcess: (name) => stopChild(name),
    async startProcess(name) {
      const spec = specs.find((s) => s.name === name);
      if (!spec) throw new Error(`no process named ${name}`);
      if (!children.has(name)) await launch(spec);
    },
    stop,
  };
}
