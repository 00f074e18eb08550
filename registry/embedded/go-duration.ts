// Durations as Consul's JSON carries them: Go duration strings ("10s", "1m30s") or integer nanoseconds.
import { parseDurationMs } from "../../platform/config";

/** Parses a Consul duration field into milliseconds; undefined when absent; throws on bad input. */
export function parseGoDuration(field: string, raw: unknown): number | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  // Consul's JSON decoder takes a bare number as nanoseconds.
  if (typeof raw === "number" && Number.isFinite(raw) && raw >= 0) return raw / 1e6;
  if (typeof raw === "string") {
    const text = raw.trim();
    if (text === "0") return 0;
    // Go rejects a bare number in a string ("missing unit"); so do we, so configs stay portable.
    const ms = /^\d+$/.test(text) ? undefined : parseDurationMs(text);
    if (ms !== undefined) return ms;
  }
  throw new Error(`${field}: time: invalid duration ${JSON.stringify(raw)}`);
}

/** Formats milliseconds the way Go prints a time.Duration: "500ms", "10s", "1m30s", "1h0m0s". */
export function formatGoDuration(ms: number): string {
  if (ms <= 0) return "0s";
  if (ms < 1000) return `${trim(ms)}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  if (hours > 0) return `${hours}h${minutes}m${trim(seconds)}s`;
  if (minutes > 0) return `${minutes}m${trim(seconds)}s`;
  return `${trim(seconds)}s`;
}

const trim = (n: number) => String(Number(n.toFixed(3)));
