// A burst past capacity through the front door, as an operator would send it: 3 echo agents,
// 3 routers and the gateway in their own processes, then N ExecuteTask calls at once with a
// deadline each. Run once with the routers' overload control off and once on, side by side:
//   npx tsx bench/overload-burst.ts [--calls=2000] [--deadline-ms=2000] [--rounds=1]
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AgentService } from "../gen/agentplatform/v1/platform_pb";
import { Code, oneCall, startProcessCluster } from "../router/test-support/process-cluster";
import { noStatus, rawBurst } from "../router/test-support/raw-burst";

const arg = (name: string, fallback: number) => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  return raw === undefined ? fallback : Number(raw);
};
const calls = arg("calls", 2000);
const deadlineMs = arg("deadline-ms", 2000);
const rounds = arg("rounds", 1);

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

async function burst(overloadControl: boolean): Promise<string> {
  const cluster = await startProcessCluster({
    echoes: 3,
    routers: 3,
    env: { ROUTER_OVERLOAD_CONTROL: String(overloadControl) },
  });
  try {
    const client = createClient(
      AgentService,
      createGrpcTransport({ baseUrl: `http://${cluster.frontDoorAddress}` }),
    );
    // Warm the connections and the routers' views first, as steady traffic would.
    for (let i = 0; i < 50; i++) await oneCall(client, i, 5000);
    const started = performance.now();
    const results = await rawBurst(cluster.frontDoorAddress, calls, deadlineMs);
    const wallMs = performance.now() - started;
    const ok = results.filter((r) => r.code === 0);
    const refused = results.filter((r) => r.pushbackMs !== undefined);
    const late = results.filter((r) => r.code === Code.DeadlineExceeded);
    const other = results.filter(
      (r) => r.code !== 0 && r.pushbackMs === undefined && r.code !== Code.DeadlineExceeded,
    );
    const refusedIn = refused.map((r) => r.endedAt - r.startedAt);
    return [
      `overload control ${overloadControl ? "on " : "off"}:`,
      `ok ${ok.length}`,
      `refused early ${refused.length} (in p50 ${percentile(refusedIn, 50).toFixed(0)} / p99 ${percentile(refusedIn, 99).toFixed(0)} / max ${Math.max(0, ...refusedIn).toFixed(0)} ms)`,
      `DEADLINE_EXCEEDED ${late.length}`,
      `other ${other.length}${other.length > 0 ? ` (codes ${[...new Set(other.map((r) => (r.code === noStatus ? "reset" : Code[r.code])))].join(",")})` : ""}`,
      `wall ${wallMs.toFixed(0)} ms`,
      ...(other.length > 0 ? [`\n  e.g. ${other[0]?.message}`] : []),
    ].join("  ");
  } finally {
    await cluster.stop();
  }
}

for (let round = 1; round <= rounds; round++) {
  for (const on of [false, true]) console.log(await burst(on));
}
