// Listing tasks: the filter and page a caller asks for, checked once, and the opaque page token.
//
// Pages are ordered newest first by (createdAtMs, taskId), and a page token is the position of the
// last task handed out, so a page never repeats or skips a task that was already there when the
// first page was read, whatever is added meanwhile. Both stores answer the same query the same way.
import { Code, ConnectError } from "@connectrpc/connect";
import type { StoredState, StoredTask } from "./task-store";

export const defaultPageSize = 50;
export const maxPageSize = 500;
const maxTokenLength = 256;

/** Where the previous page stopped: the last task it held. */
export interface TaskCursor {
  createdAtMs: number;
  taskId: string;
}

export interface TaskQuery {
  /** 1..maxPageSize tasks per page. */
  pageSize: number;
  /** Empty keeps every state. */
  states: readonly StoredState[];
  /** Created at or after this time (ms since the epoch); undefined: no bound. */
  createdAfterMs?: number;
  /** Created before this time (ms since the epoch); undefined: no bound. */
  createdBeforeMs?: number;
  /** Resume after this task; undefined for the first page. */
  after?: TaskCursor;
}

export interface TaskPage {
  tasks: StoredTask[];
  /** Where the next page starts; undefined on the last page. */
  next?: TaskCursor;
}

const invalid = (message: string) => new ConnectError(message, Code.InvalidArgument);

export function encodePageToken(cursor: TaskCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAtMs, cursor.taskId])).toString("base64url");
}

/** Reads a token made by encodePageToken; INVALID_ARGUMENT for anything else. */
export function decodePageToken(token: string): TaskCursor {
  const bad = () => invalid("page_token is not one this worker handed out; start from page one");
  if (token.length > maxTokenLength || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !Number.isSafeInteger(parsed[0]) ||
    typeof parsed[1] !== "string" ||
    parsed[1].length > 128
  ) {
    throw bad();
  }
  return { createdAtMs: parsed[0] as number, taskId: parsed[1] };
}

const storedStates: readonly StoredState[] = [
  "PENDING",
  "RUNNING",
  "SUCCEEDED",
  "FAILED",
  "CANCELLED",
];

/** Raw request fields, as in ListTasksRequest, checked and turned into a query. */
export function taskQueryFrom(raw: {
  pageSize: number;
  pageToken: string;
  /** State names, e.g. "RUNNING"; anything else is refused. */
  states: readonly string[];
  createdAfterMs: bigint;
  createdBeforeMs: bigint;
}): TaskQuery {
  const states: StoredState[] = [];
  for (const name of raw.states) {
    const state = storedStates.find((s) => s === name);
    if (!state) throw invalid(`states: "${name}" is not a task state (PENDING, RUNNING, ...)`);
    if (!states.includes(state)) states.push(state);
  }
  const time = (field: string, value: bigint) => {
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw invalid(`${field} must be milliseconds since the Unix epoch, got ${value}`);
    }
    return value === 0n ? undefined : Number(value);
  };
  const createdAfterMs = time("created_after_ms", raw.createdAfterMs);
  const createdBeforeMs = time("created_before_ms", raw.createdBeforeMs);
  return {
    pageSize: raw.pageSize === 0 ? defaultPageSize : Math.min(raw.pageSize, maxPageSize),
    states,
    ...(createdAfterMs !== undefined ? { createdAfterMs } : {}),
    ...(createdBeforeMs !== undefined ? { createdBeforeMs } : {}),
    ...(raw.pageToken !== "" ? { after: decodePageToken(raw.pageToken) } : {}),
  };
}

/** Newest first; ties broken by task id, descending, so the order is total. */
export function compareNewestFirst(a: TaskCursor, b: TaskCursor): number {
  if (a.createdAtMs !== b.createdAtMs) return b.createdAtMs - a.createdAtMs;
  return a.taskId < b.taskId ? 1 : a.taskId > b.taskId ? -1 : 0;
}

/** True when the task belongs in the query's answer (before paging). */
export function matchesQuery(task: StoredTask, query: TaskQuery): boolean {
  if (query.states.length > 0 && !query.states.includes(task.state)) return false;
  if (query.createdAfterMs !== undefined && task.createdAtMs < query.createdAfterMs) return false;
  if (query.createdBeforeMs !== undefined && task.createdAtMs >= query.createdBeforeMs) {
    return false;
  }
  return query.after === undefined || compareNewestFirst(query.after, task) < 0;
}

/** Pages an unordered set of tasks: what a store without an index does. */
export function pageOf(tasks: Iterable<StoredTask>, query: TaskQuery): TaskPage {
  const matching = [...tasks].filter((t) => matchesQuery(t, query)).sort(compareNewestFirst);
  const page = matching.slice(0, query.pageSize);
  const last = page.at(-1);
  return matching.length > query.pageSize && last
    ? { tasks: page, next: { createdAtMs: last.createdAtMs, taskId: last.taskId } }
    : { tasks: page };
}
