// One router (router/router.ts) for the benchmark, in its own process so its CPU per forwarded
// call can be read from /proc. Discovers backends in the registry at BENCH_CONSUL_ADDR.
import { readJwtConfig } from "../platform/auth/jwt-config";
import { EnvReader } from "../platform/config";
import { createLogger } from "../platform/log";
import { startTracing } from "../platform/tracing";
import { createConsulClient } from "../registry/consul-client";
import { startRouter } from "../router/router";
import { announceReady } from "./child-process";

const consulAddress = process.env.BENCH_CONSUL_ADDR;
if (consulAddress === undefined) throw new Error("BENCH_CONSUL_ADDR is not set");

// JWT_* (as a router reads them in production) turn service-token checks on.
const env = new EnvReader(process.env);
const auth = readJwtConfig(env);
env.done("bench router");

// OTEL_* (as in production) turn tracing on; the bench sets them for its traced routers only.
const tracing = await startTracing("router", { asyncContext: false });
const router = await startRouter({
  consul: createConsulClient({ address: consulAddress }),
  ...(auth ? { auth } : {}),
  register: false,
  logger: createLogger("router", { level: "warn" }),
});
announceReady({ address: router.address });

process.once("SIGTERM", () => {
  void router
    .close(500)
    .then(() => tracing.stop())
    .then(() => process.exit(0));
});
