// One measurement: h2load against one target at one load, with the CPU the hop and the echo
// agent spent meanwhile and the status codes the agent answered with.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AgentService } from "../gen/agentplatform/v1/platform_pb";
import { countDelta, scrapeBy } from "../platform/test-support/metrics-scrape";
import { type Child, cpuMicros } from "./child-process";
import { type LoadResult, runH2load } from "./h2load";
import { executeTaskPath, requestInput } from "./request-frame";

export interface Target {
  name: string;
  address: string;
  /** The process between the load generator and the echo agent; none for "direct". */
  hop: Child | undefined;
}

export interface Backend {
  child: Child;
  /** http://host:port of the agent's /metrics. */
  metricsUrl: string;
}

export interface CellSample {
  target: string;
  /** Which pass over all cells this was, from 0. */
  round: number;
  connections: number;
  streams: number;
  result: LoadResult;
  /** CPU µs the hop used during the cell (warm-up included); undefined for direct. */
  hopCpuMicros: number | undefined;
  backendCpuMicros: number;
  /** Calls the agent answered OK during the cell, warm-up included (the CPU's denominator). */
  agentOk: number;
  /** Calls the agent ended with another status, by code; Canceled is left out (see below). */
  agentNotOk: Map<string, number>;
}

const executeTaskLabel = executeTaskPath.slice(1);

const handledByCode = (backend: Backend) =>
  scrapeBy(backend.metricsUrl, "grpc_server_handled_total", "code", { method: executeTaskLabel });

export async function measureCell(
  target: Target,
  backend: Backend,
  load: { connections: number; streams: number },
  timing: { durationSeconds: number; warmUpSeconds: number; bodyFile: string; logFile: string },
  round: number,
): Promise<CellSample> {
  await waitIdle(backend);
  const codesBefore = await handledByCode(backend);
  const hopBefore = target.hop ? cpuMicros(target.hop.pid) : 0;
  const backendBefore = cpuMicros(backend.child.pid);
  const result = await runH2load({
    url: `http://${target.address}${executeTaskPath}`,
    ...load,
    ...timing,
  });
  const backendCpuMicros = cpuMicros(backend.child.pid) - backendBefore;
  const hopCpuMicros = target.hop ? cpuMicros(target.hop.pid) - hopBefore : undefined;
  await waitIdle(backend);
  const codes = countDelta(codesBefore, await handledByCode(backend));
  const agentNotOk = new Map<string, number>();
  for (const [code, n] of codes) {
    // Calls still running when h2load stops are cut off and end as Canceled: expected.
    if (code !== "OK" && code !== "Canceled" && n > 0) agentNotOk.set(code, n);
  }
  return {
    target: target.name,
    round,
    ...load,
    result,
    hopCpuMicros,
    backendCpuMicros,
    agentOk: codes.get("OK") ?? 0,
    agentNotOk,
  };
}

/** Waits until the agent has no call in progress, so one cell's stragglers do not count in the next. */
async function waitIdle(backend: Backend): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const inFlight = await scrapeBy(backend.metricsUrl, "grpc_server_in_flight", "service");
    if ([...inFlight.values()].every((n) => n === 0)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One real gRPC call through the target: it must end with grpc-status 0 and carry the echo. */
export async function checkOneCall(
  target: Target,
  timeoutMs = 20_000,
  headers: Record<string, string> = {},
): Promise<void> {
  const client = createClient(
    AgentService,
    createGrpcTransport({ baseUrl: `http://${target.address}` }),
  );
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const res = await client.executeTask(
        { taskId: "check", agentId: "echo-agent", input: requestInput },
        { timeoutMs: 2000, headers },
      );
      if (res.output !== `Echo: ${requestInput}`) {
        throw new Error(`unexpected output "${res.output}"`);
      }
      return;
    } catch (err) {
      // A router answers UNAVAILABLE until the registry has seen the agent's first health check.
      lastError = err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`${target.name}: ExecuteTask did not succeed: ${String(lastError)}`);
}
