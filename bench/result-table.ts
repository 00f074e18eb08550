// Folds the rounds of each cell into one row, and prints the rows as a Markdown table that can
// go straight into docs/BENCHMARKS.md.
import type { CellSample } from "./measure-cell";

export interface ResultRow {
  target: string;
  connections: number;
  streams: number;
  rounds: number;
  /** Median over the rounds. */
  requestsPerSecond: number;
  /** Lowest and highest round, to show how noisy the machine was. */
  minRequestsPerSecond: number;
  maxRequestsPerSecond: number;
  /**
   * Median over the rounds of this target's req/s divided by direct's in the same round: pairs
   * measured seconds apart, so slow drift in the machine's load cancels out.
   */
  ratioToDirect: number | undefined;
  /** Latency percentiles of the median round. */
  p50Ms: number;
  p99Ms: number;
  /** Hop CPU over all rounds divided by the calls in them, in µs; undefined for direct. */
  hopMicrosPerCall: number | undefined;
  backendMicrosPerCall: number | undefined;
  /** Requests that did not succeed: h2load failures, non-2xx answers, agent errors. */
  failed: number;
  /** Why, when failed > 0. */
  failures: string;
}

export function summarizeCells(samples: readonly CellSample[]): ResultRow[] {
  const groups = new Map<string, CellSample[]>();
  for (const s of samples) {
    const key = `${s.connections}x${s.streams} ${s.target}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  const rows: ResultRow[] = [];
  for (const group of groups.values()) {
    const byRate = [...group].sort(
      (a, b) => a.result.requestsPerSecond - b.result.requestsPerSecond,
    );
    const median = byRate[Math.floor((byRate.length - 1) / 2)];
    const first = group[0];
    if (median === undefined || first === undefined) continue;
    const calls = sum(group, (s) => s.agentOk);
    const failures: string[] = [];
    let failed = 0;
    for (const s of group) {
      const r = s.result;
      if (r.done === 0) failures.push("a round completed no request");
      if (r.unsuccessful > 0) failures.push(`${r.unsuccessful} failed in h2load`);
      if (r.non2xx > 0) failures.push(`${r.non2xx} non-2xx`);
      for (const [code, n] of s.agentNotOk) failures.push(`${n} ${code} from the agent`);
      failed += (r.done === 0 ? 1 : 0) + r.unsuccessful + r.non2xx;
      for (const n of s.agentNotOk.values()) failed += n;
    }
    const ratios: number[] = [];
    for (const s of group) {
      const direct = samples.find(
        (d) =>
          d.target === "direct" &&
          d.round === s.round &&
          d.connections === s.connections &&
          d.streams === s.streams,
      );
      if (direct && direct.result.requestsPerSecond > 0) {
        ratios.push(s.result.requestsPerSecond / direct.result.requestsPerSecond);
      }
    }
    ratios.sort((a, b) => a - b);
    rows.push({
      target: first.target,
      connections: first.connections,
      streams: first.streams,
      rounds: group.length,
      requestsPerSecond: median.result.requestsPerSecond,
      minRequestsPerSecond: byRate[0]?.result.requestsPerSecond ?? 0,
      maxRequestsPerSecond: byRate[byRate.length - 1]?.result.requestsPerSecond ?? 0,
      ratioToDirect: ratios[Math.floor((ratios.length - 1) / 2)],
      p50Ms: median.result.p50Ms,
      p99Ms: median.result.p99Ms,
      hopMicrosPerCall:
        first.hopCpuMicros === undefined || calls === 0
          ? undefined
          : sum(group, (s) => s.hopCpuMicros ?? 0) / calls,
      backendMicrosPerCall: calls === 0 ? undefined : sum(group, (s) => s.backendCpuMicros) / calls,
      failed,
      failures: failures.join(", "),
    });
  }
  return rows;
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  return items.reduce((total, item) => total + of(item), 0);
}

const fixed = (value: number | undefined, digits: number) =>
  value === undefined ? "–" : value.toFixed(digits);

export function formatTable(rows: readonly ResultRow[]): string {
  const header = [
    "target",
    "conns×streams",
    "req/s",
    "rounds min–max",
    "vs direct",
    "p50 ms",
    "p99 ms",
    "hop CPU µs/call",
    "agent CPU µs/call",
    "failed",
  ];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`];
  for (const row of rows) {
    const ratio = row.ratioToDirect;
    lines.push(
      `| ${[
        row.target,
        `${row.connections}×${row.streams}`,
        row.requestsPerSecond.toFixed(0),
        `${row.minRequestsPerSecond.toFixed(0)}–${row.maxRequestsPerSecond.toFixed(0)}`,
        ratio === undefined ? "–" : `${ratio.toFixed(2)}×`,
        fixed(row.p50Ms, 2),
        fixed(row.p99Ms, 2),
        fixed(row.hopMicrosPerCall, 0),
        fixed(row.backendMicrosPerCall, 0),
        String(row.failed),
      ].join(" | ")} |`,
    );
  }
  return lines.join("\n");
}
