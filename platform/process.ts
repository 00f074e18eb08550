// Runs a server process: starts it, stops it once on SIGTERM/SIGINT, and reports start-up errors plainly.
import { ConfigError } from "./config";
import type { Logger } from "./log";

export interface Running {
  /** Drains and stops; the process exits when it resolves. */
  stop(signal: string): Promise<void>;
}

export function runProcess(log: Logger, start: () => Promise<Running>): void {
  let running: Running | undefined;
  let stopping = false;

  const shutdown = async (signal: string) => {
    if (stopping) {
      log.warn("second signal: exiting now", { signal });
      process.exit(1);
    }
    stopping = true;
    log.info("shutting down", { signal });
    try {
      await running?.stop(signal);
      process.exit(0);
    } catch (err) {
      log.error("shutdown failed", { err });
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("unhandledRejection", (err) => log.error("unhandled rejection", { err }));

  start().then(
    (r) => {
      running = r;
      if (stopping) void r.stop("early signal").then(() => process.exit(0));
    },
    (err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
      } else {
        log.error("failed to start", { err });
      }
      process.exit(1);
    },
  );
}
