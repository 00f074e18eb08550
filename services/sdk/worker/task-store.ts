// What a worker's durable task store holds and promises, whichever store it is: the embedded file
// store (one machine) or PostgreSQL (a fleet).
//
// Ownership of a run is a lease with a fencing token: every claim increments the task's
// leaseVersion, and an owner's write lands only while the version is still the one it claimed.
// An owner that lost its lease (paused, partitioned, too slow) can therefore never overwrite the
// record of the instance that took the task over.
import type { JobInput } from "../definitions";
import type { TaskPage, TaskQuery } from "./task-query";

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
  /**
   * When the lease runs out, on the store's clock (the database's for PostgreSQL). Past it, any
   * instance may take the task over.
   */
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
  /** Runs started so far; each claim counts one. */
  attempt: number;
  /** Fencing token: incremented by every claim; an owner's write must carry the current one. */
  leaseVersion: number;
  owner?: TaskOwner;
  metadata: Record<string, string>;
  /**
   * W3C trace context ("traceparent", "tracestate") of the call that accepted the job: its runs'
   * spans join that trace, on whichever instance they run. Absent when the call was not traced.
   */
  traceContext?: Record<string, string>;
}

/** Who claims: this instance, in this life. */
export interface Claimant {
  instance: string;
  boot: string;
}

export interface ClaimOptions {
  /** How long the lease lasts before it must be renewed. */
  leaseMs: number;
  /**
   * Also take tasks owned by this instance id in a previous life (another boot), without
   * waiting for their lease: that process is gone. Only at start-up, so two live processes
   * mistakenly sharing an id cannot keep stealing a task from each other.
   */
  reclaimOwn?: boolean;
}

// No dots: the files of task "a" are exactly those named "a.<something>".
const validId = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export const isValidTaskId = (id: string) => validId.test(id);

/** Thrown by a store whose backend cannot be reached right now; the caller may retry. */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}

export interface TaskStore {
  /** "file" or "postgres", for logs and metrics. */
  readonly kind: string;
  /**
   * Writes a new record; false when a task with that id exists already. With `claimFor`, the
   * task is stored already claimed by that instance (attempt 1, lease version 1, a lease of
   * leaseMs on the store's clock): the instance that accepts a job runs it without a second
   * round trip, and nobody else is woken for it.
   */
  create(task: StoredTask, claimFor?: { who: Claimant; leaseMs: number }): Promise<boolean>;
  read(taskId: string): Promise<StoredTask | undefined>;
  /** One page of the tasks matching the query, newest first. */
  listTasks(query: TaskQuery): Promise<TaskPage>;
  /**
   * Claims one task when it is claimable: unfinished and unowned, or its lease expired (or, with
   * reclaimOwn, held by this instance's previous life). Counts an attempt, increments the lease
   * version and returns the claimed record; undefined when it was not claimable.
   */
  claim(taskId: string, who: Claimant, options: ClaimOptions): Promise<StoredTask | undefined>;
  /** Claims up to `limit` claimable tasks, oldest first; none twice across instances. */
  claimNext(who: Claimant, limit: number, options: ClaimOptions): Promise<StoredTask[]>;
  /**
   * The owner's write: stores the task's state and renews the lease for leaseMs (or releases it
   * when task.owner is undefined), only while task.leaseVersion is still current. False when
   * another claim came in between: the caller no longer owns the task and must stop.
   * Returns the record as stored (lease and update time on the store's clock) when it landed.
   */
  update(task: StoredTask, leaseMs: number): Promise<StoredTask | false>;
  requestCancel(taskId: string, reason: string): Promise<void>;
  /** The reason given to requestCancel, or undefined when nobody asked. */
  cancelRequest(taskId: string): Promise<string | undefined>;
  /** Deletes finished tasks last updated more than `ageMs` ago (store clock); returns how many. */
  removeFinished(ageMs: number): Promise<number>;
  /**
   * Calls `onWork` whenever a task may have become claimable here (created or released
   * elsewhere). Stores without notifications never call it; the runner's sweep finds the work.
   */
  watch(onWork: () => void): void;
  close(): Promise<void>;
}
