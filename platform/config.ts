// Configuration from the environment: parsed and validated once, at start, with messages that name the variable.

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Env = Readonly<Record<string, string | undefined>>;

/** Reads typed values from an environment, collecting every problem before failing. */
export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Env = process.env) {}

  string(name: string, fallback: string): string {
    const raw = this.env[name];
    return raw === undefined || raw === "" ? fallback : raw;
  }

  optionalString(name: string): string | undefined {
    const raw = this.env[name];
    return raw === undefined || raw === "" ? undefined : raw;
  }

  int(name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
    const raw = this.env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  port(name: string, fallback: number): number {
    return this.int(name, fallback, { min: 0, max: 65535 });
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = raw.toLowerCase();
    if (["1", "true", "yes", "on"].includes(value)) return true;
    if (["0", "false", "no", "off"].includes(value)) return false;
    this.problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  }

  /** Durations accept milliseconds ("1500") or Go-style units ("10s", "250ms", "1m"). */
  durationMs(name: string, fallback: number): number {
    const raw = this.env[name];
    if (raw === undefined || raw === "") return fallback;
    const ms = parseDurationMs(raw);
    if (ms === undefined) {
      this.problems.push(`${name} must be a duration such as 500ms, 10s or 1m, got "${raw}"`);
      return fallback;
    }
    return ms;
  }

  list(name: string, fallback: readonly string[] = []): string[] {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === "") return [...fallback];
    return raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.env[name];
    if (raw === undefined || raw === "") return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
    return fallback;
  }

  /** Records a problem found by a cross-field check. */
  invalid(message: string): void {
    this.problems.push(message);
  }

  /** Throws one ConfigError listing every bad variable, if there were any. */
  done(component: string): void {
    if (this.problems.length > 0) {
      throw new ConfigError(
        `${component}: invalid configuration:\n${this.problems.map((p) => `  - ${p}`).join("\n")}`,
      );
    }
  }
}

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "1500", "250ms", "10s", "1m30s" or "2h" into milliseconds. */
export function parseDurationMs(raw: string): number | undefined {
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return undefined;
  return Math.round(
    parts.reduce((sum, [, n, unit]) => sum + Number(n) * (unitMs[unit ?? "ms"] ?? 1), 0),
  );
}
