// The platform as an operator runs it, for fault tests: the embedded registry, echo agents,
// routers and the gateway, each its own process on loopback, with signals to stop, freeze and
// kill any of them and a load generator that calls through the front door.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AgentService } from "../../gen/agentplatform/v1/platform_pb";
import { eventually } from "../../platform/test-support/eventually";
import { scrapeBy } from "../../platform/test-support/metrics-scrape";

const root = new URL("../..", import.meta.url).pathname;

export interface ClusterOptions {
  echoes?: number;
  routers?: number;
  /** Extra environment for every process. */
  env?: Record<string, string>;
}

export interface ProcessCluster {
  readonly registryAddress: string;
  readonly frontDoorAddress: string;
  /** Names: registry, echo-1.., router-1.., gateway. */
  names(): string[];
  /** host:port an echo agent serves on. */
  echoAddress(name: string): string;
  /** Base URL of a router's /metrics server. */
  routerMetricsUrl(name: string): string;
  /** The sum of every sample of metric `metric` over the routers' /metrics now. */
  routersSum(metric: string): Promise<number>;
  signal(name: string, signal: NodeJS.Signals): void;
  /** Starts a stopped process again (same port for the registry). */
  restart(name: string): Promise<void>;
  /** Passing instances of `service` in the registry now; -1 when it does not answer. */
  passing(service: string): Promise<number>;
  /** The last lines every process wrote, for failure messages. */
  logTail(): string;
  /** performance.now() when a process first wrote a line matching `pattern` after `since`. */
  lineSeen(pattern: RegExp, since: number): number | undefined;
  stop(): Promise<void>;
}

interface Spec {
  name: string;
  entry: string;
  env: Record<string, string>;
  ready: () => Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits for a process-level condition: the cluster's processes take seconds to start. */
export const until = (
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
): Promise<void> => eventually(probe, { what, timeoutMs, intervalMs: 50 }).then(() => undefined);

export async function startProcessCluster(options: ClusterOptions = {}): Promise<ProcessCluster> {
  const echoes = options.echoes ?? 3;
  const routers = options.routers ?? 2;
  const dataDir = mkdtempSync(join(tmpdir(), "fault-cluster-"));
  const registryPort = await freePort();
  // The gateway takes free ports and says which in its log: no race with other processes.
  let frontDoorPort = 0;
  const registryAddress = `127.0.0.1:${registryPort}`;
  const registryUrl = `http://${registryAddress}`;
  const lines: string[] = [];
  const seen: { at: number; line: string }[] = [];
  const children = new Map<string, ChildProcess>();
  // A bench or test that dies (an uncaught error, process.exit) takes its processes with it.
  const killOnExit = () => {
    for (const child of children.values()) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  };
  process.once("exit", killOnExit);
  const echoPorts = new Map<string, number>();

  const passing = async (service: string): Promise<number> => {
    try {
      const res = await fetch(`${registryUrl}/v1/health/service/${service}?passing=true`, {
        signal: AbortSignal.timeout(1000),
      });
      if (!res.ok) return -1;
      return ((await res.json()) as unknown[]).length;
    } catch {
      return -1;
    }
  };

  const specs: Spec[] = [
    {
      name: "registry",
      entry: "registry/main.ts",
      env: { REGISTRY_HOST: "127.0.0.1", REGISTRY_PORT: String(registryPort) },
      ready: () => until("the registry", async () => (await passing("none")) >= 0),
    },
  ];
  for (let i = 1; i <= echoes; i++) {
    const port = await freePort();
    echoPorts.set(`echo-${i}`, port);
    specs.push({
      name: `echo-${i}`,
      entry: "services/echo/main.ts",
      env: { GRPC_SERVER_HOST: "127.0.0.1", GRPC_SERVER_PORT: String(port), METRICS_PORT: "-1" },
      ready: () => until(`echo-${i}`, async () => (await passing("agent-echo")) >= i),
    });
  }
  const routerMetricsPorts = new Map<string, number>();
  for (let i = 1; i <= routers; i++) {
    const metricsPort = await freePort();
    routerMetricsPorts.set(`router-${i}`, metricsPort);
    specs.push({
      name: `router-${i}`,
      entry: "router/main.ts",
      env: {
        GRPC_SERVER_HOST: "127.0.0.1",
        GRPC_SERVER_PORT: "0",
        ROUTER_ID: `router-${i}`,
        METRICS_PORT: String(metricsPort),
      },
      ready: () => until(`router-${i}`, async () => (await passing("grpc-router")) >= i),
    });
  }
  specs.push({
    name: "gateway",
    entry: "gateway/main.ts",
    env: {
      GATEWAY_HOST: "127.0.0.1",
      GATEWAY_GRPC_PORT: "0",
      GATEWAY_HTTP_PORT: "0",
      LOG_LEVEL: "info",
      GATEWAY_AUDIT_LOG: join(dataDir, "audit.log"),
    },
    ready: () =>
      until("the front door", async () => {
        if (frontDoorPort === 0) {
          const line = seen.find((s) => s.line.includes("gRPC front door listening"))?.line;
          frontDoorPort = Number(/address=\S*:(\d+)/.exec(line ?? "")?.[1] ?? 0);
          if (frontDoorPort === 0) return false;
        }
        const client = createClient(
          AgentService,
          createGrpcTransport({ baseUrl: `http://127.0.0.1:${frontDoorPort}` }),
        );
        await client.executeTask({ agentId: "echo-agent", input: "ready?" }, { timeoutMs: 1000 });
        return true;
      }),
  });

  const launch = async (spec: Spec) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(root, spec.entry)], {
      cwd: root,
      env: {
        ...process.env,
        CONSUL_HTTP_ADDR: registryUrl,
        LOG_LEVEL: "warn",
        ...options.env,
        ...spec.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.set(spec.name, child);
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => {
        for (const line of chunk.split("\n")) {
          if (line === "") continue;
          lines.push(`${spec.name}| ${line}`);
          if (lines.length > 400) lines.splice(0, lines.length - 400);
          seen.push({ at: performance.now(), line: `${spec.name}| ${line}` });
          if (seen.length > 2000) seen.splice(0, seen.length - 2000);
        }
      });
    }
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code, signal) =>
        reject(new Error(`${spec.name} exited (${signal ?? code}) before it was ready`)),
      ),
    );
    exited.catch(() => {});
    await Promise.race([spec.ready(), exited]);
  };

  const kill = (child: ChildProcess): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      // A frozen process must be thawed for SIGTERM to reach it.
      child.kill("SIGCONT");
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5000).unref();
    });

  const stop = async () => {
    process.off("exit", killOnExit);
    for (const spec of [...specs].reverse()) {
      const child = children.get(spec.name);
      if (child) await kill(child);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    await launch(specs[0] as Spec);
    await Promise.all(specs.filter((s) => s.name.startsWith("echo-")).map(launch));
    for (const spec of specs.filter((s) => s.name.startsWith("router-"))) await launch(spec);
    await launch(specs.at(-1) as Spec);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${lines.slice(-40).join("\n")}`);
  }

  return {
    registryAddress,
    get frontDoorAddress() {
      return `127.0.0.1:${frontDoorPort}`;
    },
    names: () => specs.map((s) => s.name),
    echoAddress: (name) => `127.0.0.1:${echoPorts.get(name) ?? 0}`,
    routerMetricsUrl: (name) => `http://127.0.0.1:${routerMetricsPorts.get(name) ?? 0}`,
    async routersSum(metric) {
      let sum = 0;
      for (const port of routerMetricsPorts.values()) {
        const byNothing = await scrapeBy(`http://127.0.0.1:${port}`, metric, "");
        for (const value of byNothing.values()) sum += value;
      }
      return sum;
    },
    signal(name, signal) {
      children.get(name)?.kill(signal);
    },
    async restart(name) {
      const spec = specs.find((s) => s.name === name);
      if (!spec) throw new Error(`no process named ${name}`);
      const child = children.get(name);
      if (child && child.exitCode === null && child.signalCode === null) await kill(child);
      await launch({ ...spec, ready: name === "registry" ? spec.ready : async () => {} });
    },
    passing,
    logTail: () => lines.slice(-60).join("\n"),
    lineSeen: (pattern, since) => seen.find((s) => s.at >= since && pattern.test(s.line))?.at,
    stop,
  };
}

export interface CallResult {
  /** performance.now() when the call was sent and when it ended. */
  startedAt: number;
  endedAt: number;
  code: Code | "ok";
  message: string;
  /** grpc-retry-pushback-ms of a refused call, when it carried one. */
  pushbackMs?: number;
}

export interface LoadOptions {
  address: string;
  /** Calls started per second. */
  rate: number;
  durationMs: number;
  timeoutMs: number;
}

/** Calls ExecuteTask on the echo agent at a steady rate for durationMs; resolves once all ended. */
export async function steadyLoad(options: LoadOptions): Promise<CallResult[]> {
  const client = createClient(
    AgentService,
    createGrpcTransport({ baseUrl: `http://${options.address}` }),
  );
  const results: Promise<CallResult>[] = [];
  const begin = performance.now();
  const intervalMs = 1000 / options.rate;
  let n = 0;
  while (performance.now() - begin < options.durationMs) {
    const due = begin + n * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    results.push(oneCall(client, n, options.timeoutMs));
    n++;
  }
  return Promise.all(results);
}

type EchoClient = ReturnType<typeof createClient<typeof AgentService>>;

export async function oneCall(
  client: EchoClient,
  n: number,
  timeoutMs: number,
): Promise<CallResult> {
  const startedAt = performance.now();
  try {
    await client.executeTask(
      { agentId: "echo-agent", taskId: `t${n}`, input: `call ${n}` },
      { timeoutMs },
    );
    return { startedAt, endedAt: performance.now(), code: "ok", message: "" };
  } catch (err) {
    const error = ConnectError.from(err);
    const pushback = error.metadata.get("grpc-retry-pushback-ms");
    return {
      startedAt,
      endedAt: performance.now(),
      code: error.code,
      message: error.rawMessage,
      ...(pushback !== null ? { pushbackMs: Number(pushback) } : {}),
    };
  }
}

/** "ok: 980, UNAVAILABLE: 2 (first: ...)" for failure messages. */
export function summarise(results: readonly CallResult[]): string {
  const byCode = new Map<string, CallResult[]>();
  for (const r of results) {
    const key = r.code === "ok" ? "ok" : Code[r.code];
    byCode.set(key, [...(byCode.get(key) ?? []), r]);
  }
  return [...byCode]
    .map(
      ([code, list]) =>
        `${code}: ${list.length}${code === "ok" ? "" : ` (first: ${list[0]?.message})`}`,
    )
    .join(", ");
}

export { Code };
