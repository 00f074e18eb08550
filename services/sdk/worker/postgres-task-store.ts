// The task store of a worker fleet: one PostgreSQL table shared by every instance on every host.
//
// - Claims take rows with SELECT … FOR UPDATE SKIP LOCKED: concurrent claimers never wait for
//   each other and never get the same task.
// - Leases are on the database's clock (now()), never a worker's.
// - Every owner's write is UPDATE … WHERE lease_version = <the version it claimed>: once another
//   instance has claimed the task, a stale owner's write changes no row and the owner stops.
// - A trigger NOTIFYs agentplatform_tasks when a task is created or released, so idle instances
//   claim it at once; abandoned leases are found by the runner's sweep (an indexed query).
import pg from "pg";
import type { Logger } from "../../../platform/log";
import { migrate } from "./postgres-migrations";
import type { TaskCursor, TaskQuery } from "./task-query";
import {
  type Claimant,
  type ClaimOptions,
  type StoredState,
  type StoredTask,
  StoreUnavailableError,
  type TaskStore,
} from "./task-store";

export interface PostgresTaskStoreOptions {
  /** postgres://user:password@host:port/database (DATABASE_URL). */
  connectionString: string;
  /** Client id of the worker whose tasks this store holds, e.g. "itinerary-worker". */
  worker: string;
  logger: Logger;
  /** Connections in the pool. Default 4. */
  poolSize?: number;
  /** Give up on a connection attempt after this long, in ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Longest a statement may run, in ms. Default 15 000. */
  statementTimeoutMs?: number;
}

const notifyChannel = "agentplatform_tasks";
const unfinished = "('PENDING', 'RUNNING')";
const finishedStates = "('SUCCEEDED', 'FAILED', 'CANCELLED')";
const ms = (col: string) => `(extract(epoch FROM ${col}) * 1000)::bigint`;
const fromMs = (param: string) => `('epoch'::timestamptz + ${param} * interval '1 millisecond')`;
const columns = (t = "") =>
  [
    "task_id",
    "worker",
    "state",
    "progress",
    "message",
    "output",
    "error",
    "request",
    "input",
    "steps",
    "metadata",
    "trace_context",
    "attempt",
    "lease_version",
    "owner_instance",
    "owner_boot",
  ]
    .map((c) => `${t}${c}`)
    .concat([
      `${ms(`${t}created_at`)} AS created_at_ms`,
      `${ms(`${t}updated_at`)} AS updated_at_ms`,
      `${ms(`${t}lease_until`)} AS lease_until_ms`,
    ])
    .join(", ");

interface TaskRow {
  task_id: string;
  worker: string;
  state: StoredState;
  progress: number;
  message: string;
  output: string;
  error: string;
  request: StoredTask["request"];
  input: StoredTask["input"];
  steps: StoredTask["steps"];
  metadata: Record<string, string>;
  trace_context: Record<string, string>;
  attempt: number;
  lease_version: string;
  owner_instance: string | null;
  owner_boot: string | null;
  created_at_ms: string;
  updated_at_ms: string;
  lease_until_ms: string | null;
}

const toTask = (r: TaskRow): StoredTask => ({
  taskId: r.task_id,
  worker: r.worker,
  state: r.state,
  progress: r.progress,
  message: r.message,
  output: r.output,
  error: r.error,
  createdAtMs: Number(r.created_at_ms),
  updatedAtMs: Number(r.updated_at_ms),
  request: r.request,
  input: r.input,
  steps: r.steps,
  attempt: r.attempt,
  leaseVersion: Number(r.lease_version),
  ...(r.owner_instance !== null && r.owner_boot !== null
    ? {
        owner: {
          instance: r.owner_instance,
          boot: r.owner_boot,
          leaseUntilMs: Number(r.lease_until_ms ?? 0),
        },
      }
    : {}),
  metadata: r.metadata,
  ...(Object.keys(r.trace_context).length > 0 ? { traceContext: r.trace_context } : {}),
});

/** Errors that mean "PostgreSQL is not reachable right now", as opposed to a bad statement. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  if (/^(08|57P)/.test(code) || code === "53300") return true;
  if (
    ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH"].includes(code)
  )
    return true;
  const message = typeof e.message === "string" ? e.message : "";
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(
    message,
  );
}

/** Where a connection string points, without its password, for messages. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || "localhost"}:${u.port || "5432"}${u.pathname}`;
  } catch {
    return "(unparseable URL)";
  }
}

export async function openPostgresTaskStore(options: PostgresTaskStoreOptions): Promise<TaskStore> {
  const { worker, logger: log } = options;
  const connection: pg.ClientConfig = {
    connectionString: options.connectionString,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    statement_timeout: options.statementTimeoutMs ?? 15_000,
    application_name: worker,
  };
  const pool = new pg.Pool({
    ...connection,
    max: options.poolSize ?? 4,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection dropped by the server must not crash the process; the pool replaces it.
  pool.on("error", (err) => log.warn("task store connection lost", { err: err.message }));

  async function query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) {
    try {
      return await pool.query<R>(sql, params);
    } catch (err) {
      if (isConnectionError(err)) {
        throw new StoreUnavailableError(
          `task database unreachable: ${(err as Error).message || String(err)}`,
        );
      }
      throw err;
    }
  }

  try {
    const applied = await migrate(pool);
    if (applied.length > 0) log.info("task store schema migrated", { versions: applied });
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }

  const claimableWhere = `state IN ${unfinished} AND (owner_instance IS NULL OR lease_until < now()
    OR ($4::boolean AND owner_instance = $2 AND owner_boot <> $3))`;
  const claimSet = `attempt = t.attempt + 1, lease_version = t.lease_version + 1,
    owner_instance = $2, owner_boot = $3, lease_until = now() + $5 * interval '1 millisecond'`;

  let listener: pg.Client | undefined;
  let closed = false;
  const watchers: (() => void)[] = [];
  const wake = () => {
    for (const w of watchers) w();
  };

  /** Keeps one connection LISTENing; reconnects with backoff, and wakes the runner after a gap. */
  async function listen(backoffMs = 250): Promise<void> {
    if (closed) return;
    const client = new pg.Client(connection);
    let reconnecting = false;
    const again = () => {
      if (reconnecting || closed) return;
      reconnecting = true;
      listener = undefined;
      client.end().catch(() => {});
      setTimeout(() => void listen(Math.min(backoffMs * 2, 5000)), backoffMs).unref();
    };
    client.on("error", (err) => {
      log.warn("task notifications interrupted; reconnecting", { err: err.message });
      again();
    });
    client.on("end", again);
    client.on("notification", (n) => {
      if (n.payload === worker) wake();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${notifyChannel}`);
      if (closed) {
        await client.end();
        return;
      }
      listener = client;
      backoffMs = 250;
      // Notifications sent while not listening are lost: look for work once now.
      wake();
    } catch (err) {
      log.debug("task notifications: cannot connect yet", { err: (err as Error).message });
      again();
    }
  }

  const pageSql = (q: TaskQuery) => {
    const params: unknown[] = [worker];
    const where = ["worker = $1"];
    const add = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (q.states.length > 0) where.push(`state = ANY(${add(q.states)}::text[])`);
    if (q.createdAfterMs !== undefined)
      where.push(`created_at >= ${fromMs(add(q.createdAfterMs))}`);
    if (q.createdBeforeMs !== undefined) {
      where.push(`created_at < ${fromMs(add(q.createdBeforeMs))}`);
    }
    if (q.after) {
      where.push(
        `(created_at, task_id) < (${fromMs(add(q.after.createdAtMs))}, ${add(q.after.taskId)})`,
      );
    }
    const limit = add(q.pageSize + 1);
    return {
      sql: `SELECT ${columns()} FROM tasks WHERE ${where.join(" AND ")}
        ORDER BY created_at DESC, task_id DESC LIMIT ${limit}`,
      params,
    };
  };

  return {
    kind: "postgres",
    async create(task, claimFor) {
      const res = await query(
        `INSERT INTO tasks (task_id, worker, state, progress, message, output, error, created_at,
           updated_at, request, input, steps, metadata, attempt, lease_version, owner_instance,
           owner_boot, lease_until, trace_context)
         VALUES ($1, $2, $3, $4, $5, $6, $7, ${fromMs("$8")}, now(), $9, $10, $11, $12, $13, $14,
           $15, $16, CASE WHEN $18::bigint IS NULL THEN ${fromMs("$17::bigint")}
                          ELSE now() + $18::bigint * interval '1 millisecond' END, $19)
         ON CONFLICT (worker, task_id) DO NOTHING`,
        [
          task.taskId,
          worker,
          task.state,
          task.progress,
          task.message,
          task.output,
          task.error,
          task.createdAtMs,
          JSON.stringify(task.request),
          JSON.stringify(task.input),
          JSON.stringify(task.steps),
          JSON.stringify(task.metadata),
          claimFor ? 1 : task.attempt,
          claimFor ? 1 : task.leaseVersion,
          // Unowned unless claimed for its creator; an imported record's owner is kept as is.
          claimFor?.who.instance ?? task.owner?.instance ?? null,
          claimFor?.who.boot ?? task.owner?.boot ?? null,
          task.owner?.leaseUntilMs ?? null,
          claimFor?.leaseMs ?? null,
          JSON.stringify(task.traceContext ?? {}),
        ],
      );
      return res.rowCount === 1;
    },
    async read(taskId) {
      const res = await query<TaskRow>(
        `SELECT ${columns()} FROM tasks WHERE worker = $1 AND task_id = $2`,
        [worker, taskId],
      );
      const row = res.rows[0];
      return row ? toTask(row) : undefined;
    },
    async listTasks(q) {
      const { sql, params } = pageSql(q);
      const rows = (await query<TaskRow>(sql, params)).rows.map(toTask);
      const tasks = rows.slice(0, q.pageSize);
      const last = tasks.at(-1);
      const next: TaskCursor | undefined =
        rows.length > q.pageSize && last
          ? { createdAtMs: last.createdAtMs, taskId: last.taskId }
          : undefined;
      return next ? { tasks, next } : { tasks };
    },
    async claim(taskId, who: Claimant, opts: ClaimOptions) {
      const res = await query<TaskRow>(
        `WITH c AS (
           SELECT task_id FROM tasks
           WHERE worker = $1 AND task_id = $6 AND ${claimableWhere}
           FOR UPDATE SKIP LOCKED)
         UPDATE tasks t SET ${claimSet} FROM c
         WHERE t.worker = $1 AND t.task_id = c.task_id
         RETURNING ${columns("t.")}`,
        [worker, who.instance, who.boot, opts.reclaimOwn ?? false, opts.leaseMs, taskId],
      );
      const row = res.rows[0];
      return row ? toTask(row) : undefined;
    },
    async claimNext(who, limit, opts) {
      if (limit <= 0) return [];
      const res = await query<TaskRow>(
        `WITH c AS (
           SELECT task_id FROM tasks
           WHERE worker = $1 AND ${claimableWhere}
           ORDER BY created_at LIMIT $6
           FOR UPDATE SKIP LOCKED)
         UPDATE tasks t SET ${claimSet} FROM c
         WHERE t.worker = $1 AND t.task_id = c.task_id
         RETURNING ${columns("t.")}`,
        [worker, who.instance, who.boot, opts.reclaimOwn ?? false, opts.leaseMs, limit],
      );
      return res.rows.map(toTask).sort((a, b) => a.createdAtMs - b.createdAtMs);
    },
    async update(task, leaseMs) {
      const res = await query<TaskRow>(
        `UPDATE tasks SET state = $3, progress = $4, message = $5, output = $6, error = $7,
           steps = $8, metadata = $9, updated_at = now(),
           owner_instance = CASE WHEN $10::boolean THEN owner_instance END,
           owner_boot = CASE WHEN $10::boolean THEN owner_boot END,
           lease_until = CASE WHEN $10::boolean THEN now() + $11 * interval '1 millisecond' END
         WHERE worker = $12 AND task_id = $1 AND lease_version = $2
         RETURNING ${columns()}`,
        [
          task.taskId,
          task.leaseVersion,
          task.state,
          task.progress,
          task.message,
          task.output,
          task.error,
          JSON.stringify(task.steps),
          JSON.stringify(task.metadata),
          task.owner !== undefined,
          leaseMs,
          worker,
        ],
      );
      const row = res.rows[0];
      return row ? toTask(row) : false;
    },
    async requestCancel(taskId, reason) {
      await query("UPDATE tasks SET cancel_reason = $3 WHERE worker = $1 AND task_id = $2", [
        worker,
        taskId,
        reason,
      ]);
    },
    async cancelRequest(taskId) {
      const res = await query<{ cancel_reason: string | null }>(
        "SELECT cancel_reason FROM tasks WHERE worker = $1 AND task_id = $2",
        [worker, taskId],
      );
      return res.rows[0]?.cancel_reason ?? undefined;
    },
    async removeFinished(ageMs) {
      // In batches, so a large backlog never holds locks for long.
      let removed = 0;
      for (;;) {
        const res = await query(
          `DELETE FROM tasks WHERE worker = $1 AND task_id IN (
             SELECT task_id FROM tasks
             WHERE worker = $1 AND state IN ${finishedStates}
               AND updated_at < now() - $2 * interval '1 millisecond'
             LIMIT 1000)`,
          [worker, ageMs],
        );
        removed += res.rowCount ?? 0;
        if ((res.rowCount ?? 0) < 1000) return removed;
      }
    },
    watch(onWork) {
      watchers.push(onWork);
      if (watchers.length === 1) void listen();
    },
    async close() {
      closed = true;
      await listener?.end().catch(() => {});
      await pool.end().catch(() => {});
    },
  };
}
