// Number, duration and time formatting used across the console.

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return "–";
  if (perSecond === 0) return "0";
  if (perSecond < 10) return perSecond.toFixed(1);
  if (perSecond < 10_000) return Math.round(perSecond).toLocaleString("en-US");
  return `${(perSecond / 1000).toFixed(1)}k`;
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  if (ms === 0) return "0 ms";
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
}

export function formatPercent(ratio: number): string {
  if (!Number.isFinite(ratio)) return "–";
  if (ratio === 0) return "0%";
  if (ratio < 0.001) return "<0.1%";
  return `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
}

/** "3 s ago", "5 min ago", "2 h ago"; the clock time past a day. */
export function formatAgo(atMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - atMs) / 1000));
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return new Date(atMs).toLocaleString();
}

export function formatClock(atMs: number): string {
  const d = new Date(atMs);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatClockMs(atMs: number): string {
  return `${formatClock(atMs)}.${String(new Date(atMs).getMilliseconds()).padStart(3, "0")}`;
}

export function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** "2026-12-05 17:49:03" in local time: a full date, so old entries are never ambiguous. */
export function formatDateTime(atMs: number): string {
  const d = new Date(atMs);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${formatClock(atMs)}`;
}

/** A length of time as a duration ("1.52 s", "+320 ms"), never as a clock reading. */
export function formatElapsed(ms: number): string {
  return `+${formatMs(ms)}`;
}
