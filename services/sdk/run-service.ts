// The whole main.ts of a service: read the environment, start, drain on SIGTERM/SIGINT.
import { createLogger } from "../../platform/log";
import { runProcess } from "../../platform/process";
import { startTracing } from "../../platform/tracing";
import { registryName, type ServiceDefinition } from "./definitions";
import { readServiceConfig } from "./service-config";
import { type StartServiceOptions, startService } from "./start-service";

/**
 * Runs a service until SIGTERM/SIGINT. Pass a function to build the definition from the
 * environment: its configuration errors are then reported like the SDK's own.
 */
export function runService(
  definition: ServiceDefinition | (() => ServiceDefinition),
  {
    defaultPort = 0,
    ...options
  }: { defaultPort?: number } & Pick<StartServiceOptions, "drainDelayMs" | "jobs"> = {},
): void {
  const build = typeof definition === "function" ? definition : () => definition;
  let logger = createLogger("service");
  runProcess(logger, async () => {
    const built = build();
    const name = registryName(built);
    logger = createLogger(name);
    const config = readServiceConfig(name, defaultPort);
    const tracing = await startTracing(name);
    const service = await startService(built, { ...options, ...config, logger });
    return {
      async stop() {
        await service.stop();
        await tracing.stop();
      },
    };
  });
}
