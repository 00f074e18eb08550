// Durable task records on disk, one JSON file per task, shared by every instance of a worker.
//
// Writes go to a temporary file that is fsynced and renamed over the record, so a reader or a
// crash sees either the old record or the new one, never half of one. Ownership of a run is
// decided by exclusively creating "<id>.attempt-<n>": exactly one instance can win attempt n.
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { link, mkdir, open, readdir, readFile, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { JobInput } from "../definitions";
import { pageOf, type TaskPage, type TaskQuery } from "./task-query";

export type StoredState = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";

export const isTerminal = (state: StoredState) =>
  state === "SUCCEEDED" || state === "FAILED" || state === "CANCELLED";

export interface StoredStep {
  name: string;
  state: StoredState;
  detail: string;
  /** What the step returned, replayed instead of running it again after a restart. */
  result?: unknown;
}

export interface TaskOwner {
  /** Instance id of the worker running the task. */
  instance: string;
  /** Differs on every start of that instance, so a restarted instance knows its old runs died. */
  boot: string;
  /** The owner renews this while it runs; past it, any instance may take the task over. */
  leaseUntilMs: number;
}

export interface StoredTask {
  taskId: string;
  /** Client id of the worker, e.g. "itinerary-worker". */
  worker: string;
  state: StoredState;
  progress: number;
  message: string;
  output: string;
  error: string;
  createdAtMs: number;
  updatedAtMs: number;
  /** The request as received, to recognise a retried ProcessTask. */
  request: { input: string; parameters: Record<string, string> };
  /** The job's input as accepted by the worker definition. */
  input: JobInput;
  steps: StoredStep[];
  /** Runs started so far; the next run claims attempt + 1. */
  attempt: number;
  owner?: TaskOwner;
  metadata: Record<string, string>;
}

// No dots: the files of task "a" are exactly those named "a.<something>".
const validId = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export const isValidTaskId = (id: string) => validId.test(id);

export interface TaskStore {
  readonly dir: string;
  /** Writes a new record; false when a task with that id exists already. */
  create(task: StoredTask): Promise<boolean>;
  read(taskId: string): Promise<StoredTask | undefined>;
  write(task: StoredTask): Promise<void>;
  /** Ids of every stored task. */
  list(): Promise<string[]>;
  /** One page of the tasks matching the query, newest first. */
  listTasks(query: TaskQuery): Promise<TaskPage>;
  /** Claims run number `attempt`; true for exactly one caller per task and attempt. */
  claim(taskId: string, attempt: number): Promise<boolean>;
  /** True once someone claimed `attempt` (used by a running owner to see it was replaced). */
  claimed(taskId: string, attempt: number): Promise<boolean>;
  requestCancel(taskId: string, reason: string): Promise<void>;
  /** The reason given to requestCancel, or undefined when nobody asked. */
  cancelRequest(taskId: string): Promise<string | undefined>;
  remove(taskId: string): Promise<void>;
}

export async function openTaskStore(dataDir: string): Promise<TaskStore> {
  const dir = join(dataDir, "tasks");
  await mkdir(dir, { recursive: true });
  const recordPath = (id: string) => join(dir, `${id}.json`);
  const attemptPath = (id: string, n: number) => join(dir, `${id}.attempt-${n}`);
  const cancelPath = (id: string) => join(dir, `${id}.cancel`);
  const checkId = (id: string) => {
    if (!isValidTaskId(id)) throw new Error(`invalid task id "${id}"`);
  };

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
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  };
  const unlinkQuietly = async (path: string) => {
    try {
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  };

  return {
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
        if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
        throw err;
      } finally {
        await unlinkQuietly(temp);
      }
    },
    async read(taskId) {
      if (!isValidTaskId(taskId)) return undefined;
      const text = await readText(recordPath(taskId));
      return text === undefined ? undefined : (JSON.parse(text) as StoredTask);
    },
    async write(task) {
      checkId(task.taskId);
      const target = recordPath(task.taskId);
      const temp = await writeTemp(target, JSON.stringify(task));
      await rename(temp, target);
      await syncDir();
    },
    async list() {
      const names = await readdir(dir);
      return names.filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -".json".length));
    },
    async listTasks(query) {
      // No index: every record is read. Fine for one machine's jobs within the retention period.
      const tasks: StoredTask[] = [];
      for (const name of await readdir(dir)) {
        if (!name.endsWith(".json")) continue;
        const text = await readText(join(dir, name));
        if (text === undefined) continue;
        try {
          tasks.push(JSON.parse(text) as StoredTask);
        } catch {
          // A record being replaced is never half-written; anything unparseable is not a task.
        }
      }
      return pageOf(tasks, query);
    },
    async claim(taskId, attempt) {
      checkId(taskId);
      try {
        const handle = await open(attemptPath(taskId, attempt), "wx", 0o600);
        await handle.close();
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
        throw err;
      }
    },
    async claimed(taskId, attempt) {
      return (await readText(attemptPath(taskId, attempt))) !== undefined;
    },
    async requestCancel(taskId, reason) {
      checkId(taskId);
      const target = cancelPath(taskId);
      await rename(await writeTemp(target, reason), target);
    },
    async cancelRequest(taskId) {
      return readText(cancelPath(taskId));
    },
    async remove(taskId) {
      checkId(taskId);
      const prefix = `${taskId}.`;
      for (const name of await readdir(dir)) {
        if (name.startsWith(prefix)) await unlinkQuietly(join(dir, name));
      }
    },
  };
}
