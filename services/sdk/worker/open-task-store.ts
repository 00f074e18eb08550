// Picks a worker's task store: PostgreSQL when a database URL is configured, else the embedded
// file store. A database that cannot be reached or migrated fails the start with a message
// naming DATABASE_URL, before anything else is started.
import { ConfigError } from "../../../platform/config";
import type { Logger } from "../../../platform/log";
import { openFileTaskStore } from "./file-task-store";
import { describeDatabaseUrl, openPostgresTaskStore } from "./postgres-task-store";
import type { TaskStore } from "./task-store";

export interface OpenTaskStoreOptions {
  /** postgres:// URL (DATABASE_URL); undefined keeps tasks in files under dataDir. */
  databaseUrl: string | undefined;
  /** Directory of the embedded store (WORKER_DATA_DIR). */
  dataDir: string;
  /** Client id of the worker, e.g. "itinerary-worker". */
  worker: string;
  logger: Logger;
}

/** Checks a DATABASE_URL's shape; returns a problem to report, or undefined when it is usable. */
export function databaseUrlProblem(name: string, raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `${name} must be a URL such as postgres://user:password@host:5432/database`;
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    return `${name} must start with postgres:// or postgresql://, got "${url.protocol}//…"`;
  }
  if (url.pathname === "" || url.pathname === "/") {
    return `${name} must name a database, e.g. postgres://user:password@${url.host || "host"}/agentplatform`;
  }
  return undefined;
}

export async function openWorkerTaskStore(options: OpenTaskStoreOptions): Promise<TaskStore> {
  const { databaseUrl } = options;
  if (databaseUrl === undefined) return openFileTaskStore(options.dataDir);
  try {
    const store = await openPostgresTaskStore({
      connectionString: databaseUrl,
      worker: options.worker,
      logger: options.logger,
    });
    options.logger.info("task store: PostgreSQL", { database: describeDatabaseUrl(databaseUrl) });
    return store;
  } catch (err) {
    // The driver's message (refused, unknown host, password failed) without the URL's secret.
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigError(
      `${options.worker}: DATABASE_URL: cannot use the task database at ${describeDatabaseUrl(databaseUrl)}: ${why}`,
    );
  }
}
