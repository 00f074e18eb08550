// Runs the embedded Consul-compatible registry (REGISTRY_HOST, REGISTRY_PORT).
import { EnvReader } from "../platform/config";
import { createLogger } from "../platform/log";
import { runProcess } from "../platform/process";
import { startEmbeddedRegistry } from "./embedded/embedded-registry";

const log = createLogger("registry");

runProcess(log, async () => {
  const env = new EnvReader();
  const host = env.string("REGISTRY_HOST", "127.0.0.1");
  const port = env.port("REGISTRY_PORT", 8500);
  env.done("registry");
  const registry = await startEmbeddedRegistry({ host, port, logger: log });
  log.info(`registry listening on http://${registry.address}`);
  return { stop: () => registry.close() };
});
