// `npm run bench`: unary ExecuteTask throughput, latency and CPU straight to the echo agent,
// through one router, through nginx grpc_pass and through HAProxy (h2), side by side in one run
// with h2load as the load generator; the router also with tracing on (parent-based sampling of
// 1% and 100%, exporting OTLP to a receiver in this process). `npm run bench -- --quick` for a
// shorter run.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "../platform/log";
import {
  type OtlpReceiver,
  startOtlpReceiver,
} from "../platform/tracing/test-support/otlp-receiver";
import { startEmbeddedRegistry } from "../registry/embedded/embedded-registry";
import { type BenchOptions, parseBenchOptions } from "./bench-options";
import { type Child, findCommand, startNodeChild } from "./child-process";
import {
  type Backend,
  type CellSample,
  checkOneCall,
  measureCell,
  type Target,
} from "./measure-cell";
import { startHaproxy, startNginx } from "./proxy-targets";
import { writeTaskRequestFrame } from "./request-frame";
import { formatTable, summarizeCells } from "./result-table";

const entry = (file: string) => new URL(file, import.meta.url).pathname;
const say = (text: string) => process.stdout.write(`${text}\n`);

async function main(): Promise<void> {
  const options = parseBenchOptions(process.argv.slice(2));
  if (findCommand("h2load") === undefined) {
    throw new Error("h2load is not installed (Debian package nghttp2-client)");
  }
  const dir = mkdtempSync(join(tmpdir(), "agent-platform-bench-"));
  const bodyFile = join(dir, "task-request.bin");
  writeTaskRequestFrame(bodyFile);

  const children: Child[] = [];
  let receiver: OtlpReceiver | undefined;
  const registry = await startEmbeddedRegistry({
    port: 0,
    logger: createLogger("registry", { level: "warn" }),
  });
  const env = { BENCH_CONSUL_ADDR: registry.address };
  try {
    const echo = await startNodeChild("echo-agent", entry("echo-agent-process.ts"), env);
    children.push(echo.child);
    const backend: Backend = { child: echo.child, metricsUrl: echo.info.metricsUrl ?? "" };
    const echoAddress = echo.info.address ?? "";
    const router = await startNodeChild("router", entry("router-process.ts"), env);
    children.push(router.child);

    const targets: Target[] = [
      { name: "direct", address: echoAddress, hop: undefined },
      { name: "router", address: router.info.address ?? "", hop: router.child },
    ];
    // The same router with tracing on: every call is a root here (h2load sends no traceparent),
    // so parent-based sampling applies the ratio.
    receiver = await startOtlpReceiver();
    for (const [name, ratio] of [
      ["trace1%", "0.01"],
      ["trace100%", "1"],
    ] as const) {
      const traced = await startNodeChild(name, entry("router-process.ts"), {
        ...env,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: ratio,
        OTEL_SERVICE_NAME: `bench-router-${name}`,
      });
      children.push(traced.child);
      targets.push({ name, address: traced.info.address ?? "", hop: traced.child });
    }
    for (const [name, start] of [
      ["nginx", startNginx],
      ["haproxy", startHaproxy],
    ] as const) {
      const proxy = await start(dir, echoAddress);
      if (typeof proxy === "string") {
        say(`note: skipping ${name}: ${proxy}`);
        continue;
      }
      children.push(proxy.child);
      targets.push({ name, address: `127.0.0.1:${proxy.port}`, hop: proxy.child });
    }
    for (const target of targets) await checkOneCall(target);
    say(`one ExecuteTask through each of ${targets.map((t) => t.name).join(", ")}: grpc-status 0`);

    printMachine(options);
    const samples: CellSample[] = [];
    const timing = {
      durationSeconds: options.durationSeconds,
      warmUpSeconds: options.warmUpSeconds,
      bodyFile,
      logFile: join(dir, "h2load.log"),
    };
    for (let round = 0; round < options.rounds; round++) {
      for (const load of options.loads) {
        for (const target of targets) {
          const sample = await measureCell(target, backend, load, timing, round);
          samples.push(sample);
          say(
            `  round ${round + 1}/${options.rounds} ${target.name.padEnd(8)} ${load.connections}x${load.streams}: ${sample.result.requestsPerSecond.toFixed(0)} req/s`,
          );
        }
      }
    }

    const rows = summarizeCells(samples);
    say(`\n${formatTable(rows)}\n`);
    const bad = rows.filter((r) => r.failed > 0);
    if (receiver !== undefined) {
      say(
        `OTLP receiver: ${receiver.requests()} export requests, ${(receiver.protobufBytes() / 1024).toFixed(0)} KiB of spans (http/protobuf)`,
      );
    }
    for (const r of bad) say(`FAILED ${r.target} ${r.connections}x${r.streams}: ${r.failures}`);
    if (bad.length > 0) {
      process.exitCode = 1;
    } else {
      say("every request succeeded: h2load saw only 2xx and the echo agent answered every call OK");
    }
  } finally {
    for (const child of children.reverse()) await child.stop();
    await registry.close();
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function printMachine(options: BenchOptions): void {
  const h2load = execFileSync("h2load", ["--version"]).toString().trim();
  say(
    `\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}, ${h2load}`,
  );
  say(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  say(
    `each cell: ${options.warmUpSeconds} s warm-up + ${options.durationSeconds} s measured, ${options.rounds} round(s), 1 h2load thread`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
