// Structured logs: one line per event, logfmt-like text for people (default) or JSON (LOG_FORMAT=json).

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

function levelFromEnv(): LogLevel {
  const raw = process.env.LOG_LEVEL;
  return raw === "debug" || raw === "info" || raw === "warn" || raw === "error" ? raw : "info";
}

function formatValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === "string") return /[\s="]/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? String(value);
}

export function createLogger(
  component: string,
  options: { level?: LogLevel; json?: boolean; write?: (line: string) => void } = {},
): Logger {
  const min = order[options.level ?? levelFromEnv()];
  const json = options.json ?? process.env.LOG_FORMAT === "json";
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));

  function make(base: LogFields): Logger {
    const emit = (level: LogLevel, message: string, fields?: LogFields) => {
      if (order[level] < min) return;
      const all = { ...base, ...fields };
      if (json) {
        write(
          JSON.stringify({ time: new Date().toISOString(), level, component, message, ...all }),
        );
        return;
      }
      const extra = Object.entries(all)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${formatValue(v)}`)
        .join(" ");
      write(`${level.padEnd(5)} ${message}${extra ? ` ${extra}` : ""}`);
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  }
  return make({});
}
