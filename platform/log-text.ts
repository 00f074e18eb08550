// Text for people (`npm start`): one logfmt-like line per event, then an error's stack and cause
// chain on indented lines below it, so a failure reads like Node prints it.
import { isLoggedError, type LoggedError } from "./log-error";

/** Keys pino writes that the text line shows in its own way, or not at all. */
const hidden = new Set(["level", "time", "message", "component", "pid", "hostname"]);

function formatValue(value: unknown): string {
  if (typeof value === "string")
    return /[\s="]/.test(value) || value === "" ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? String(value);
}

function errorLines(err: LoggedError, indent: string, out: string[]): void {
  const stack = err.stack ?? `${err.type}: ${err.message}`;
  for (const line of stack.split("\n")) out.push(`${indent}${line}`);
  if (err.errors !== undefined) {
    for (const member of err.errors) {
      if (typeof member === "string") out.push(`${indent}  - ${member}`);
      else errorLines(member, `${indent}  `, out);
    }
  }
  const cause = err.cause;
  if (cause === undefined) return;
  if (typeof cause === "string") {
    out.push(`${indent}caused by: ${cause}`);
    return;
  }
  out.push(`${indent}caused by:`);
  errorLines(cause, indent, out);
}

/** Formats one of pino's JSON records (already parsed) as text. */
export function formatTextRecord(record: Record<string, unknown>): string {
  const level = typeof record.level === "string" ? record.level : "info";
  const message = typeof record.message === "string" ? record.message : "";
  const fields: string[] = [];
  const below: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (hidden.has(key) || value === undefined) continue;
    if (isLoggedError(value)) {
      fields.push(`${key}=${formatValue(value.message)}`);
      if (value.grpc_code !== undefined) fields.push(`${key}.grpc_code=${value.grpc_code}`);
      if (value.code !== undefined) fields.push(`${key}.code=${value.code}`);
      errorLines(value, "    ", below);
      continue;
    }
    fields.push(`${key}=${formatValue(value)}`);
  }
  const head = `${level.padEnd(5)} ${message}${fields.length > 0 ? ` ${fields.join(" ")}` : ""}`;
  return below.length > 0 ? `${head}\n${below.join("\n")}` : head;
}
