// The embedded task store: one JSON file per task in a local directory, shared by the worker
// instances of one machine. The default under `npm start`; a fleet on several machines uses
// PostgreSQL instead (leases here use this machine's clock, and O_EXCL is not reliably atomic on
// network file systems).
//
// Writes go to a temporary file that is fsynced and renamed over the record, so a reader or a
// crash sees either the old record or the new one. Every read-check-write of ownership (claim,
// the owner's update) happens under the task's lock file, so the lease version check and the
// write are one atomic step: a stale owner's write is refused, never applied.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { pageOf } from "./task-query";
import {
  type Claimant,
  type ClaimOptions,
  isTerminal,
  isValidTaskId,
  type StoredTask,
  StoreUnavailableError,
  type TaskStore,
} from "./task-store";

export interface FileTaskStoreOptions {
  /** How long to wait for a task's lock before giving up, in ms. Default 10 000. */
  lockTimeoutMs?: number;
  /** A lock file older than this is left over by a crash and broken, in ms. Default 10 000. */
  staleLockMs?: number;
}

/** Claimable now: unfinished, and unowned, past its lease, or (reclaimOwn) this instance's previous life. */
export function claimableAt(
  task: StoredTask,
  nowMs: number,
  who: Claimant,
  reclaimOwn = false,
): boolean {
  if (isTerminal(task.state)) return false;
  const owner = task.owner;
  return (
    owner === undefined ||
    owner.leaseUntilMs < nowMs ||
    (reclaimOwn && owner.instance === who.instance && owner.boot !== who.boot)
  );
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

export async function openFileTaskStore(
  dataDir: string,
  options: FileTaskStoreOptions = {},
): Promise<TaskStore & { readonly dir: string }> {
  const lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  const staleLockMs = options.staleLockMs ?? 10_000;
  const dir = join(dataDir, "tasks");
  await mkdir(dir, { recursive: true });
  const recordPath = (id: string) => join(dir, `${id}.json`);
  const lockPath = (id: string) => join(dir, `${id}.lock`);
  const cancelPath = (id: string) => join(dir, `${id}.cancel`);
  const checkId = (id: string) => {
    if (!isValidTaskId(id)) throw new Error(`invalid task id "${id}"`);
  };
  /** Finished records never change again: not read again by claimNext. */
  const finished = new Set<string>();

  /** Writes a fully synced temporary file next to the target and returns its path. */
  async function writeTemp(target: string, text: string): Promise<string> {
    const temp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
    const handle = await open(temp, "w", 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return temp;
  }

  /** Makes a rename or link durable: the directory entry is flushed too. */
  async function syncDir() {
    const handle = await open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } catch {
      // Some filesystems refuse fsync on directories; the rename itself is still atomic.
    } finally {
      await handle.close();
    }
  }

  const readText = async (path: string) => {
    try {
      return await readFile(path, "utf8");
    } catch (err) {
      if (errno(err) === "ENOENT") return undefined;
      throw err;
    }
  };
  const unlinkQuietly = async (path: string) => {
    try {
      await unlink(path);
    } catch (err) {
      if (errno(err) !== "ENOENT") throw err;
    }
  };
  const parse = (text: string): StoredTask => {
    const task = JSON.parse(text) as StoredTask;
    // Records written before fencing existed carry no version.
    return { ...task, leaseVersion: task.leaseVersion ?? 0 };
  };
  const readRecord = async (id: string) => {
    const text = await readText(recordPath(id));
    return text === undefined ? undefined : parse(text);
  };
  const writeRecord = async (task: StoredTask) => {
    const target = recordPath(task.taskId);
    await rename(await writeTemp(target, JSON.stringify(task)), target);
    await syncDir();
    if (isTerminal(task.state)) finished.add(task.taskId);
  };

  /** True when the lock's holder is gone: its process died or it was left long ago. */
  async function lockIsStale(path: string): Promise<boolean> {
    const pid = Number(await readText(path).catch(() => undefined));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
      } catch (err) {
        if (errno(err) === "ESRCH") return true;
      }
    }
    try {
      return Date.now() - (await stat(path)).mtimeMs > staleLockMs;
    } catch {
      return false;
    }
  }

  /** Runs fn holding the task's lock file (exclusive across processes of this machine). */
  async function locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const path = lockPath(id);
    const deadline = Date.now() + lockTimeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
      try {
        const handle = await open(path, "wx", 0o600);
        try {
          await handle.writeFile(String(process.pid));
        } finally {
          await handle.close();
        }
        break;
      } catch (err) {
        if (errno(err) !== "EEXIST") throw err;
        if (await lockIsStale(path)) {
          await unlinkQuietly(path);
          continue;
        }
        if (Date.now() > deadline) {
          throw new StoreUnavailableError(`task ${id} stayed locked for ${lockTimeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
    try {
      return await fn();
    } finally {
      await unlinkQuietly(path);
    }
  }

  async function claimLocked(
    id: string,
    who: Claimant,
    options: ClaimOptions,
  ): Promise<StoredTask | undefined> {
    return locked(id, async () => {
      const task = await readRecord(id);
      const now = Date.now();
      if (!task || !claimableAt(task, now, who, options.reclaimOwn)) return undefined;
      const claimed: StoredTask = {
        ...task,
        attempt: task.attempt + 1,
        leaseVersion: task.leaseVersion + 1,
        owner: { instance: who.instance, boot: who.boot, leaseUntilMs: now + options.leaseMs },
      };
      await writeRecord(claimed);
      return claimed;
    });
  }

  const ids = async () =>
    (await readdir(dir)).filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -5));

  async function readAll(): Promise<StoredTask[]> {
    const tasks: StoredTask[] = [];
    for (const id of await ids()) {
      try {
        const task = await readRecord(id);
        if (task) tasks.push(task);
      } catch {
        // A record is never half-written; anything unparseable is not a task.
      }
    }
    return tasks;
  }

  return {
    kind: "file",
    dir,
    async create(task) {
      checkId(task.taskId);
      const target = recordPath(task.taskId);
      const temp = await writeTemp(target, JSON.stringify(task));
      try {
        // link() fails when the target exists: an atomic create-if-absent.
        await link(temp, target);
        await syncDir();
        return true;
      } catch (err) {
        if (errno(err) === "EEXIST") return false;
        throw err;
      } finally {
        await unlinkQuietly(temp);
      }
    },
    async read(taskId) {
      if (!isValidTaskId(taskId)) return undefined;
      return readRecord(taskId);
    },
    async listTasks(query) {
      // No index: every record is read. Fine for one machine's jobs within the retention period.
      return pageOf(await readAll(), query);
    },
    async claim(taskId, who, options) {
      if (!isValidTaskId(taskId)) return undefined;
      return claimLocked(taskId, who, options);
    },
    async claimNext(who, limit, options) {
      const now = Date.now();
      const candidates: StoredTask[] = [];
      for (const id of await ids()) {
        if (finished.has(id)) continue;
        const task = await readRecord(id).catch(() => undefined);
        if (!task) continue;
        if (isTerminal(task.state)) finished.add(id);
        else if (claimableAt(task, now, who, options.reclaimOwn)) candidates.push(task);
      }
      candidates.sort((a, b) => a.createdAtMs - b.createdAtMs);
      const claimed: StoredTask[] = [];
      for (const task of candidates) {
        if (claimed.length >= limit) break;
        const won = await claimLocked(task.taskId, who, options);
        if (won) claimed.push(won);
      }
      return claimed;
    },
    async update(task, leaseMs) {
      checkId(task.taskId);
      return locked(task.taskId, async () => {
        const current = await readRecord(task.taskId);
        if (!current || current.leaseVersion !== task.leaseVersion) return false;
        const now = Date.now();
        const { owner, ...rest } = task;
        const stored: StoredTask = {
          ...rest,
          updatedAtMs: now,
          ...(owner ? { owner: { ...owner, leaseUntilMs: now + leaseMs } } : {}),
        };
        await writeRecord(stored);
        return stored;
      });
    },
    async requestCancel(taskId, reason) {
      checkId(taskId);
      const target = cancelPath(taskId);
      await rename(await writeTemp(target, reason), target);
    },
    async cancelRequest(taskId) {
      if (!isValidTaskId(taskId)) return undefined;
      return readText(cancelPath(taskId));
    },
    async removeFinished(ageMs) {
      const before = Date.now() - ageMs;
      let removed = 0;
      const names = await readdir(dir);
      for (const task of await readAll()) {
        if (!isTerminal(task.state) || task.updatedAtMs >= before) continue;
        const prefix = `${task.taskId}.`;
        for (const name of names) {
          if (name.startsWith(prefix)) await unlinkQuietly(join(dir, name));
        }
        finished.delete(task.taskId);
        removed++;
      }
      return removed;
    },
    watch() {
      // No notifications between processes: the runner's sweep finds new and abandoned work.
    },
    async close() {},
  };
}
