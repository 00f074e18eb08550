// What the route builders share with the server that runs them: identity, logger, platform
// client, and the counters GetStatus reports.
import type { Logger } from "../../platform/log";
import type { PlatformClient } from "./platform-client";

export interface ServiceRuntime {
  logger: Logger;
  platform(): PlatformClient;
  /** host:port callers reach this instance at. */
  endpoint(): string;
  startedAtMs: number;
  draining(): boolean;
  /** Calls running now. */
  active: { count: number };
}

/** Runs `fn` counted as an active call. */
export async function counted<T>(runtime: ServiceRuntime, fn: () => Promise<T>): Promise<T> {
  runtime.active.count++;
  try {
    return await fn();
  } finally {
    runtime.active.count--;
  }
}
