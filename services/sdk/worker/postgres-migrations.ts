// The task store's schema, as numbered migrations applied in order at start. Each runs once, in
// one transaction with its schema_migrations row, under an advisory lock: several workers
// starting together migrate once and the others wait, then find nothing left to do.
import type { Pool } from "pg";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Arbitrary, fixed: the advisory lock key that serialises migrations of this schema. */
const migrationLockKey = 7_151_515;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "tasks",
    sql: `
      CREATE TABLE tasks (
        -- Byte order ("C"), the order the embedded store and the page tokens use.
        task_id        text COLLATE "C" NOT NULL,
        worker         text NOT NULL,
        state          text NOT NULL
          CHECK (state IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
        progress       integer NOT NULL DEFAULT 0,
        message        text NOT NULL DEFAULT '',
        output         text NOT NULL DEFAULT '',
        error          text NOT NULL DEFAULT '',
        created_at     timestamptz NOT NULL DEFAULT now(),
        updated_at     timestamptz NOT NULL DEFAULT now(),
        request        jsonb NOT NULL,
        input          jsonb NOT NULL,
        steps          jsonb NOT NULL DEFAULT '[]',
        metadata       jsonb NOT NULL DEFAULT '{}',
        attempt        integer NOT NULL DEFAULT 0,
        lease_version  bigint NOT NULL DEFAULT 0,
        owner_instance text,
        owner_boot     text,
        lease_until    timestamptz,
        cancel_reason  text,
        PRIMARY KEY (worker, task_id)
      );
      -- Listing: newest first per worker, optionally by state.
      CREATE INDEX tasks_list ON tasks (worker, created_at DESC, task_id DESC);
      CREATE INDEX tasks_list_state ON tasks (worker, state, created_at DESC, task_id DESC);
      -- Claiming: only unfinished tasks, by lease.
      CREATE INDEX tasks_claimable ON tasks (worker, lease_until NULLS FIRST, created_at)
        WHERE state IN ('PENDING', 'RUNNING');
      -- Retention: finished tasks by age.
      CREATE INDEX tasks_finished ON tasks (worker, updated_at)
        WHERE state IN ('SUCCEEDED', 'FAILED', 'CANCELLED');
    `,
  },
  {
    version: 2,
    name: "notify unowned tasks",
    sql: `
      -- Idle workers LISTEN on agentplatform_tasks: a created or released task wakes them.
      CREATE FUNCTION tasks_notify_unowned() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('agentplatform_tasks', NEW.worker);
        RETURN NULL;
      END $$;
      CREATE TRIGGER tasks_unowned AFTER INSERT OR UPDATE OF owner_instance ON tasks
        FOR EACH ROW
        WHEN (NEW.owner_instance IS NULL AND NEW.state IN ('PENDING', 'RUNNING'))
        EXECUTE FUNCTION tasks_notify_unowned();
    `,
  },
  {
    version: 3,
    name: "tasks trace context",
    sql: `ALTER TABLE tasks ADD COLUMN trace_context jsonb NOT NULL DEFAULT '{}'`,
  },
];

/** Applies the migrations not yet recorded; returns the versions it applied. */
export async function migrate(pool: Pool, all: readonly Migration[] = migrations) {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [migrationLockKey]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const done = await client.query<{ version: number }>("SELECT version FROM schema_migrations");
    const have = new Set(done.rows.map((r) => r.version));
    for (const m of [...all].sort((a, b) => a.version - b.version)) {
      if (have.has(m.version)) continue;
      await client.query(m.sql);
      await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query("COMMIT");
    return applied;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
