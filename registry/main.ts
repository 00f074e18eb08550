// Runs the embedded Consul-compatible registry (REGISTRY_HOST, REGISTRY_PORT). GRPC_TLS_CA_PATH,
// GRPC_TLS_CERT_PATH and GRPC_TLS_KEY_PATH, when set, are the CA and client certificate of its
// TLS health checks.
import { EnvReader } from "../platform/config";
import { createLogger } from "../platform/log";
import { runProcess } from "../platform/process";
import { loadCheckTls, readCheckTlsPaths } from "./embedded/check-tls";
import { startEmbeddedRegistry } from "./embedded/embedded-registry";

const log = createLogger("registry");

runProcess(log, async () => {
  const env = new EnvReader();
  const host = env.string("REGISTRY_HOST", "127.0.0.1");
  const port = env.port("REGISTRY_PORT", 8500);
  const checkTlsPaths = readCheckTlsPaths(env);
  env.done("registry");
  const checkTls = loadCheckTls(checkTlsPaths);
  const registry = await startEmbeddedRegistry({
    host,
    port,
    logger: log,
    ...(checkTls ? { checkTls } : {}),
  });
  log.info(`registry listening on http://${registry.address}`);
  return { stop: () => registry.close() };
});
