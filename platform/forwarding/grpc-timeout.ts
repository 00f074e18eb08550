// The grpc-timeout header: "<1-8 digits><unit>", H M S m u n.

const unitMs: Record<string, number> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000_001,
};

/** Milliseconds asked for, undefined when the header is absent, NaN when it is malformed. */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(text);
  if (!match) return Number.NaN;
  return Number(match[1]) * (unitMs[match[2] ?? "m"] ?? 1);
}

/** Encodes a remaining budget, rounding up so a hop never shortens a deadline by rounding. */
export function formatGrpcTimeout(ms: number): string {
  const budget = Math.max(0, ms);
  if (budget < 100) return `${Math.ceil(budget * 1000)}u`;
  if (budget < 1e8) return `${Math.ceil(budget)}m`;
  if (budget < 1e11) return `${Math.ceil(budget / 1000)}S`;
  return `${Math.min(99_999_999, Math.ceil(budget / 3_600_000))}H`;
}
