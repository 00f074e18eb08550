// A burst past capacity through the front door, as an operator would send it: 3 echo agents,
// 3 routers and the gateway in their own processes, then N ExecuteTask calls at once with a
// deadline each. Run once with the routers' overload control off and once on, side by side:
//   npx tsx bench/overload-burst.ts [--calls=2000] [--deadline-ms=2000] [--rounds=1]
//     [--client=platform|node] [--control=both|on|off]
// The client is the platform's own HTTP/2 client (bench/h2-burst.ts), or node:http2 as the tests
// use. A last line measures the client alone: the same burst against a bare node:http2 server,
// in its own process, that refuses every call the moment it arrives. Its "refused in" is the
// floor the client's own event loop puts under every figure above.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AgentService } from "../gen/agentplatform/v1/platform_pb";
import { scrapeBy } from "../platform/test-support/metrics-scrape";
import {
  Code,
  oneCall,
  type ProcessCluster,
  startProcessCluster,
} from "../router/test-support/process-cluster";
import { noStatus, rawBurst } from "../router/test-support/raw-burst";
import { h2Burst } from "./h2-burst";

const arg = (name: string, fallback: number) => {
  const raw = process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
  return raw === undefined ? fallback : Number(raw);
};
const calls = arg("calls", 2000);
const deadlineMs = arg("deadline-ms", 2000);
const rounds = arg("rounds", 1);
const clientName = process.argv.find((a) => a.startsWith("--client="))?.split("=")[1] ?? "platform";
if (clientName !== "platform" && clientName !== "node") {
  throw new Error(`--client is "platform" or "node", not "${clientName}"`);
}
const send = clientName === "node" ? rawBurst : h2Burst;
const control = process.argv.find((a) => a.startsWith("--control="))?.split("=")[1] ?? "both";
if (control !== "both" && control !== "on" && control !== "off") {
  throw new Error(`--control is "both", "on" or "off", not "${control}"`);
}
const controlRuns = control === "both" ? [false, true] : [control === "on"];

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
    const results = await send(cluster.frontDoorAddress, calls, deadlineMs);
    const wallMs = performance.now() - started;
    const ok = results.filter((r) => r.code === 0);
    const refused = results.filter((r) => r.pushbackMs !== undefined);
    const late = results.filter((r) => r.code === Code.DeadlineExceeded);
    const other = results.filter(
      (r) => r.code !== 0 && r.pushbackMs === undefined && r.code !== Code.DeadlineExceeded,
    );
    const refusedIn = refused.map((r) => r.endedAt - r.startedAt);
    const atRouters = overloadControl ? await routerRefusalWaits(cluster) : "";
    return [
      `overload control ${overloadControl ? "on " : "off"}:`,
      `ok ${ok.length}`,
      `refused early ${refused.length} (in p50 ${percentile(refusedIn, 50).toFixed(0)} / p99 ${percentile(refusedIn, 99).toFixed(0)} / max ${Math.max(0, ...refusedIn).toFixed(0)} ms)`,
      `DEADLINE_EXCEEDED ${late.length}`,
      `other ${other.length}${other.length > 0 ? ` (codes ${[...new Set(other.map((r) => (r.code === noStatus ? "reset" : Code[r.code])))].join(",")})` : ""}`,
      `wall ${wallMs.toFixed(0)} ms`,
      ...(atRouters === "" ? [] : [`\n  ${atRouters}`]),
      ...(other.length > 0 ? [`\n  e.g. ${other[0]?.message}`] : []),
    ].join("  ");
  } finally {
    await cluster.stop();
  }
}

/**
 * How long after arriving at a router the refused calls were refused there, from the routers'
 * router_overload_refusal_wait_seconds histograms: the share within 100 ms, and the bucket
 * bounds the median and the slowest fall in.
 */
async function routerRefusalWaits(cluster: ProcessCluster): Promise<string> {
  const cumulative = new Map<string, number>();
  for (const name of cluster.names().filter((n) => n.startsWith("router-"))) {
    const buckets = await scrapeBy(
      cluster.routerMetricsUrl(name),
      "router_overload_refusal_wait_seconds_bucket",
      "le",
    );
    for (const [le, count] of buckets) cumulative.set(le, (cumulative.get(le) ?? 0) + count);
  }
  const total = cumulative.get("+Inf") ?? 0;
  if (total === 0) return "at the routers: no call refused";
  const bounds = [...cumulative].sort((a, b) => Number(a[0]) - Number(b[0]));
  const upTo = (share: number) => {
    const [le] = bounds.find(([, count]) => count >= share * total) ?? ["+Inf"];
    return le === "+Inf" ? "over 10 s" : `≤ ${Number(le) * 1000} ms`;
  };
  const within100 = cumulative.get("0.1") ?? 0;
  return `at the routers: ${within100} of ${total} refused within 100 ms of arriving there (p50 ${upTo(0.5)}, max ${upTo(1)})`;
}

/** The burst against a server that refuses every call at once: what the client alone costs. */
async function clientFloor(): Promise<string> {
  const server = spawn(
    process.execPath,
    [
      "-e",
      `const s = require("node:http2").createServer({ settings: { maxConcurrentStreams: 1000 } });
       s.on("stream", (st) => { st.resume(); st.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "14", "grpc-retry-pushback-ms": "100" }, { endStream: true }); });
       s.listen(0, "127.0.0.1", () => console.log(s.address().port));`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    const [line] = (await once(server.stdout, "data")) as [Buffer];
    const results = await send(`127.0.0.1:${line.toString().trim()}`, calls, deadlineMs);
    const answeredIn = results.map((r) => r.endedAt - r.startedAt);
    return `client floor (${clientName} client; every call refused on arrival by a bare node:http2 server): answered in p50 ${percentile(answeredIn, 50).toFixed(0)} / p99 ${percentile(answeredIn, 99).toFixed(0)} / max ${Math.max(0, ...answeredIn).toFixed(0)} ms`;
  } finally {
    server.kill();
  }
}

console.log(`${calls} calls at once, ${deadlineMs} ms deadlines, ${clientName} client`);
for (let round = 1; round <= rounds; round++) {
  for (const on of controlRuns) console.log(await burst(on));
}
console.log(await clientFloor());
