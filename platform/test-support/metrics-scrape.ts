// Reads a /metrics endpoint (Prometheus text): what a process counted during a run or a test.

/**
 * Samples of `name` whose labels include all of `match`, summed by the value of label `by` (all
 * under "" for samples without it; `by` "" sums every sample into one).
 */
export async function scrapeBy(
  metricsUrl: string,
  name: string,
  by: string,
  match: Record<string, string> = {},
): Promise<Map<string, number>> {
  const res = await fetch(`${metricsUrl}/metrics`);
  if (!res.ok) throw new Error(`GET ${metricsUrl}/metrics: ${res.status}`);
  const sums = new Map<string, number>();
  for (const line of (await res.text()).split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = m[2] ?? "";
    if (!Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`))) continue;
    const key = new RegExp(`(?:^|,)${by}="([^"]*)"`).exec(labels)?.[1] ?? "";
    sums.set(key, (sums.get(key) ?? 0) + Number(m[3]));
  }
  return sums;
}

/** Per-key increase from `before` to `after`. */
export function countDelta(
  before: Map<string, number>,
  after: Map<string, number>,
): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [key, value] of after) delta.set(key, value - (before.get(key) ?? 0));
  return delta;
}
