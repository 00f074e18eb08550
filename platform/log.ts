// Structured logs on pino: one record per event, text for people (default) or JSON lines
// (LOG_FORMAT=json). Errors keep their message, stack, gRPC code and cause chain; a line logged
// inside a traced call carries its trace_id and span_id; credentials are redacted here, once.
import pino from "pino";
import { serializeError } from "./log-error";
import { formatTextRecord } from "./log-text";
import { activeTraceIds } from "./tracing/trace-ids";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Fields whose values never reach a log, at the top level or one object down. */
const redactedKeys = [
  "authorization",
  "cookie",
  "token",
  "tokens",
  "password",
  "secret",
  "upstreamToken",
  "serviceToken",
];
const redactPaths = redactedKeys.flatMap((key) => [key, `*.${key}`]);

function levelFromEnv(): LogLevel {
  const raw = process.env.LOG_LEVEL;
  return raw === "debug" || raw === "info" || raw === "warn" || raw === "error" ? raw : "info";
}

/** Errors anywhere at the top level become { type, message, stack, grpc_code, cause }. */
function prepare(fields: LogFields | undefined, withTrace: boolean): LogFields {
  const out: LogFields = {};
  if (fields !== undefined) {
    for (const key in fields) {
      const value = fields[key];
      if (value === undefined) continue;
      out[key] = value instanceof Error ? serializeError(value) : value;
    }
  }
  if (withTrace && out.trace_id === undefined) {
    const ids = activeTraceIds();
    if (ids !== undefined) {
      out.trace_id = ids.trace_id;
      out.span_id = ids.span_id;
    }
  }
  return out;
}

/** Where records go: JSON lines as pino writes them, or text formatted from them. */
function destination(
  json: boolean,
  write: ((line: string) => void) | undefined,
): pino.DestinationStream {
  if (json) {
    if (write === undefined) return pino.destination({ fd: 2, sync: true });
    return { write: (line: string) => write(line.endsWith("\n") ? line.slice(0, -1) : line) };
  }
  const out = write ?? ((line: string) => process.stderr.write(`${line}\n`));
  return {
    write(line: string) {
      out(formatTextRecord(JSON.parse(line) as Record<string, unknown>));
    },
  };
}

export function createLogger(
  component: string,
  options: {
    /** Least severe level written. Default LOG_LEVEL, else "info". */
    level?: LogLevel;
    /** JSON lines instead of text. Default: LOG_FORMAT=json. */
    json?: boolean;
    /** Receives each line without its newline. Default: standard error. */
    write?: (line: string) => void;
  } = {},
): Logger {
  const level = options.level ?? levelFromEnv();
  const min = order[level];
  const json = options.json ?? process.env.LOG_FORMAT === "json";
  const root = pino(
    {
      level,
      base: { component },
      messageKey: "message",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: redactPaths, censor: "[redacted]" },
      // Errors are serialized above, whatever their key; pino's own `err` handling would flatten
      // the cause chain into the message.
      serializers: { err: (value: unknown) => value },
    },
    destination(json, options.write),
  );

  function wrap(target: pino.Logger): Logger {
    const emit = (lvl: LogLevel, message: string, fields: LogFields | undefined) => {
      if (order[lvl] < min) return;
      target[lvl](prepare(fields, true), message);
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (fields) => wrap(target.child(prepare(fields, false))),
    };
  }
  return wrap(root);
}
