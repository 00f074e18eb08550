// The echo agent (services/echo) as the benchmark's backend, in its own process so its CPU is
// measured apart from the hop's. Registers in the registry at BENCH_CONSUL_ADDR.
import { createLogger } from "../platform/log";
import { echoAgent } from "../services/echo/echo-agent";
import { startService } from "../services/sdk";
import { announceReady } from "./child-process";

const consulAddress = process.env.BENCH_CONSUL_ADDR;
if (consulAddress === undefined) throw new Error("BENCH_CONSUL_ADDR is not set");

const service = await startService(echoAgent, {
  port: 0,
  consulAddress,
  metricsPort: 0,
  drainDelayMs: 0,
  logger: createLogger("echo-agent", { level: "warn" }),
});
await service.registered();
announceReady({ address: service.address, metricsUrl: service.metricsUrl ?? "" });

process.once("SIGTERM", () => {
  void service.stop(500).then(() => process.exit(0));
});
