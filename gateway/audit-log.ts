// The gateway's audit log: every run, resolve probe and console action (and anything else that
// calls record), appended to a JSON-lines file and kept in memory for ListAuditEntries. Bounded
// by entry count and age in memory, and by size on disk (one rotated file is kept); both files
// are reread at start so the console shows history across restarts.

import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type AuditEntry, AuditEntrySchema, Role } from "../gen/agentplatform/v1/console_pb";
import type { Logger } from "../platform/log";
import { redactMetadata } from "./audit-redaction";
import { roleNames } from "./caller";

/** What a caller records; the log assigns the id and redacts the metadata. */
export type AuditInput = Omit<MessageInitShape<typeof AuditEntrySchema>, "id" | "$typeName">;

export interface AuditQuery {
  /** Entries in the page. Default 100. */
  limit?: number;
  /** Only entries with a smaller id; 0 or undefined for the newest. */
  beforeId?: bigint;
  /** Only entries at or after this time (ms). */
  fromMs?: number;
  /** Only entries before this time (ms). */
  toMs?: number;
}

export interface AuditPage {
  /** Newest first. */
  entries: AuditEntry[];
  /** 0n when there is nothing older that matches. */
  nextBeforeId: bigint;
  oldestKeptMs: number;
  kept: number;
}

export interface AuditLog {
  /** Records one entry; the simple API every feature that acts on the platform uses. */
  record(entry: AuditInput): void;
  list(query?: AuditQuery): AuditPage;
  /** Newest first. */
  recent(limit?: number): AuditEntry[];
  readonly maxEntries: number;
  readonly maxAgeMs: number;
  close(): Promise<void>;
}

export interface AuditLogOptions {
  /** JSON-lines file to append to; undefined keeps entries in memory only. */
  path?: string;
  /** Entries kept in memory. Default 50,000. */
  maxEntries?: number;
  /** Entries older than this are dropped. Default 7 days. */
  maxAgeMs?: number;
  /** The file is rotated to `<path>.1` past this size. Default 64 MiB. */
  maxFileBytes?: number;
  logger: Logger;
  /** Default Date.now. */
  now?: () => number;
}

interface AuditLine {
  id: string;
  at: string;
  atMs: number;
  category: string;
  subject: string;
  role: string;
  method: string;
  target: string;
  code: string;
  message?: string;
  durationMs: number;
  peer: string;
  router?: string;
  instance?: string;
  metadata?: Record<string, string>;
  detail?: string;
}

const roleByName = new Map(Object.entries(roleNames).map(([role, name]) => [name, Number(role)]));

function toLine(entry: AuditEntry): AuditLine {
  return {
    id: String(entry.id),
    at: new Date(Number(entry.atMs)).toISOString(),
    atMs: Number(entry.atMs),
    category: entry.category,
    subject: entry.subject,
    role: roleNames[entry.role],
    method: entry.method,
    target: entry.target,
    code: entry.code,
    ...(entry.message ? { message: entry.message } : {}),
    durationMs: Math.round(entry.durationMs * 1000) / 1000,
    peer: entry.peer,
    ...(entry.router ? { router: entry.router } : {}),
    ...(entry.instance ? { instance: entry.instance } : {}),
    ...(Object.keys(entry.metadata).length > 0 ? { metadata: entry.metadata } : {}),
    ...(entry.detail ? { detail: entry.detail } : {}),
  };
}

const str = (v: unknown) => (typeof v === "string" ? v : "");

function fromLine(text: string): AuditEntry | undefined {
  try {
    const line = JSON.parse(text) as Partial<Record<keyof AuditLine, unknown>>;
    if (typeof line.atMs !== "number" || typeof line.method !== "string") return undefined;
    const metadata: Record<string, string> = {};
    if (line.metadata !== null && typeof line.metadata === "object") {
      for (const [k, v] of Object.entries(line.metadata)) metadata[k] = str(v);
    }
    return create(AuditEntrySchema, {
      atMs: BigInt(Math.trunc(line.atMs)),
      category: str(line.category) || "run",
      subject: str(line.subject),
      role: (roleByName.get(str(line.role)) as Role | undefined) ?? Role.UNSPECIFIED,
      method: line.method,
      target: str(line.target),
      code: str(line.code),
      message: str(line.message),
      durationMs: typeof line.durationMs === "number" ? line.durationMs : 0,
      peer: str(line.peer),
      router: str(line.router),
      instance: str(line.instance),
      metadata: redactMetadata(metadata),
      detail: str(line.detail),
    });
  } catch {
    return undefined;
  }
}

/** Reads at most the final `maxBytes` of a file as entries, oldest first. */
function readEntries(path: string, maxBytes: number): AuditEntry[] {
  if (!existsSync(path)) return [];
  let fd: number | undefined;
  try {
    const size = statSync(path).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    fd = openSync(path, "r");
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString("utf8").split("\n");
    if (length < size) lines.shift(); // the first line is probably cut
    return lines.map(fromLine).filter((e): e is AuditEntry => e !== undefined);
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function createAuditLog(options: AuditLogOptions): AuditLog {
  const maxEntries = options.maxEntries ?? 50_000;
  const maxAgeMs = options.maxAgeMs ?? 7 * 24 * 3600_000;
  const maxFileBytes = options.maxFileBytes ?? 64 * 1024 * 1024;
  const now = options.now ?? Date.now;
  const log = options.logger;
  const path = options.path;

  // Oldest first; ids increase with position, so pages are cut by binary search.
  let entries: AuditEntry[] = [];
  if (path) {
    entries = [...readEntries(`${path}.1`, maxFileBytes), ...readEntries(path, maxFileBytes)].sort(
      (a, b) => Number(a.atMs - b.atMs),
    );
  }
  let nextId = 1n;
  for (const e of entries) e.id = nextId++;

  const prune = () => {
    const cutoff = BigInt(now() - maxAgeMs);
    let drop = Math.max(0, entries.length - maxEntries);
    while (drop < entries.length && (entries[drop]?.atMs ?? 0n) < cutoff) drop++;
    if (drop > 0) entries = entries.slice(drop);
  };
  prune();

  // Synchronous appends: a line is on its way to disk before the call's reply, and rotation
  // can never interleave two writers on one file.
  let fd: number | undefined;
  let fileBytes = 0;
  let failed = false;
  const open = () => {
    if (!path) return;
    try {
      mkdirSync(dirname(path), { recursive: true });
      fd = openSync(path, "a");
      fileBytes = fstatSync(fd).size;
    } catch (err) {
      fd = undefined;
      log.error("audit log cannot be opened; entries are kept in memory only", { path, err });
    }
  };
  open();

  const write = (line: string) => {
    if (fd === undefined || !path) return;
    const bytes = Buffer.byteLength(line);
    if (fileBytes > 0 && fileBytes + bytes > maxFileBytes) {
      closeSync(fd);
      fd = undefined;
      try {
        renameSync(path, `${path}.1`);
      } catch (err) {
        log.error("audit log rotation failed", { path, err });
      }
      open();
      if (fd === undefined) return;
    }
    try {
      writeSync(fd, line);
      fileBytes += bytes;
      failed = false;
    } catch (err) {
      if (!failed) log.error("audit log write failed", { path, err });
      failed = true;
    }
  };

  /** Index of the first entry with id >= the given id. */
  const indexOfId = (id: bigint) => {
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((entries[mid]?.id ?? 0n) < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  const list = (query: AuditQuery = {}): AuditPage => {
    prune();
    const limit = Math.max(1, Math.min(query.limit ?? 100, 1000));
    const end = query.beforeId && query.beforeId > 0n ? indexOfId(query.beforeId) : entries.length;
    const from = query.fromMs ? BigInt(query.fromMs) : undefined;
    const to = query.toMs ? BigInt(query.toMs) : undefined;
    const out: AuditEntry[] = [];
    let i = end - 1;
    for (; i >= 0 && out.length < limit; i--) {
      const e = entries[i];
      if (e === undefined) continue;
      if (from !== undefined && e.atMs < from) break; // older ones are earlier still
      if (to !== undefined && e.atMs >= to) continue;
      out.push(e);
    }
    const more =
      i >= 0 && (from === undefined || (entries[i]?.atMs ?? 0n) >= from) && out.length === limit;
    return {
      entries: out,
      nextBeforeId: more ? (out.at(-1)?.id ?? 0n) : 0n,
      oldestKeptMs: Number(entries[0]?.atMs ?? 0n),
      kept: entries.length,
    };
  };

  return {
    maxEntries,
    maxAgeMs,
    record(input) {
      const entry = create(AuditEntrySchema, {
        ...input,
        id: nextId++,
        category: input.category || "run",
        metadata: redactMetadata(input.metadata ?? {}),
      });
      if (entry.atMs === 0n) entry.atMs = BigInt(now());
      entries.push(entry);
      if (entries.length > maxEntries) entries.splice(0, entries.length - maxEntries);
      write(`${JSON.stringify(toLine(entry))}\n`);
    },
    list,
    recent: (limit = 100) => list({ limit }).entries,
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      return Promise.resolve();
    },
  };
}
