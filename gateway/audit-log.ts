// Every run through the browser endpoint, appended to a JSON-lines file and kept in memory for
// ListAuditEntries. The file is reread at start so the console still shows recent runs after a restart.

import {
  closeSync,
  createWriteStream,
  mkdirSync,
  openSync,
  readSync,
  statSync,
  type WriteStream,
} from "node:fs";
import { dirname } from "node:path";
import { create } from "@bufbuild/protobuf";
import { type AuditEntry, AuditEntrySchema, Role } from "../gen/agentplatform/v1/console_pb";
import type { Logger } from "../platform/log";
import { roleNames } from "./caller";

export interface AuditLog {
  record(entry: AuditEntry): void;
  /** Newest first. */
  recent(limit?: number): AuditEntry[];
  close(): Promise<void>;
}

export interface AuditLogOptions {
  /** JSON-lines file to append to; undefined keeps entries in memory only. */
  path?: string;
  /** Entries kept in memory. Default 1000. */
  capacity?: number;
  logger: Logger;
}

interface AuditLine {
  at: string;
  atMs: number;
  subject: string;
  role: string;
  method: string;
  target: string;
  code: string;
  durationMs: number;
  peer: string;
  detail?: string;
}

const roleByName = new Map(Object.entries(roleNames).map(([role, name]) => [name, Number(role)]));

function toLine(entry: AuditEntry): AuditLine {
  return {
    at: new Date(Number(entry.atMs)).toISOString(),
    atMs: Number(entry.atMs),
    subject: entry.subject,
    role: roleNames[entry.role],
    method: entry.method,
    target: entry.target,
    code: entry.code,
    durationMs: Math.round(entry.durationMs * 1000) / 1000,
    peer: entry.peer,
    ...(entry.detail !== "" ? { detail: entry.detail } : {}),
  };
}

function fromLine(text: string): AuditEntry | undefined {
  try {
    const line = JSON.parse(text) as Partial<AuditLine>;
    if (typeof line.atMs !== "number" || typeof line.method !== "string") return undefined;
    return create(AuditEntrySchema, {
      atMs: BigInt(Math.trunc(line.atMs)),
      subject: String(line.subject ?? ""),
      role: (roleByName.get(String(line.role)) as Role | undefined) ?? Role.UNSPECIFIED,
      method: line.method,
      target: String(line.target ?? ""),
      code: String(line.code ?? ""),
      durationMs: Number(line.durationMs ?? 0),
      peer: String(line.peer ?? ""),
      detail: String(line.detail ?? ""),
    });
  } catch {
    return undefined;
  }
}

/** The last entries of an existing log, oldest first; reads at most the final 1 MiB. */
function readTail(path: string, capacity: number): AuditEntry[] {
  let fd: number | undefined;
  try {
    const size = statSync(path).size;
    const length = Math.min(size, 1024 * 1024);
    const buffer = Buffer.alloc(length);
    fd = openSync(path, "r");
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString("utf8").split("\n");
    if (length < size) lines.shift(); // the first line is probably cut
    return lines
      .map(fromLine)
      .filter((e): e is AuditEntry => e !== undefined)
      .slice(-capacity);
  } catch {
    return [];
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function createAuditLog(options: AuditLogOptions): AuditLog {
  const capacity = options.capacity ?? 1000;
  const log = options.logger;
  const entries: AuditEntry[] = options.path ? readTail(options.path, capacity) : [];
  let stream: WriteStream | undefined;
  if (options.path) {
    mkdirSync(dirname(options.path), { recursive: true });
    stream = createWriteStream(options.path, { flags: "a" });
    stream.on("error", (err) => log.error("audit log write failed", { path: options.path, err }));
  }

  return {
    record(entry) {
      entries.push(entry);
      if (entries.length > capacity) entries.splice(0, entries.length - capacity);
      stream?.write(`${JSON.stringify(toLine(entry))}\n`);
    },
    recent(limit = 100) {
      const n = Math.max(0, Math.min(limit, entries.length));
      return entries.slice(entries.length - n).reverse();
    },
    close() {
      const s = stream;
      stream = undefined;
      return new Promise<void>((resolve) => (s ? s.end(() => resolve()) : resolve()));
    },
  };
}
