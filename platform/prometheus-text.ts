// Writes the Prometheus text exposition format, version 0.0.4.

/** Content-Type of a /metrics answer in this format. */
export const prometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

export type MetricType = "counter" | "gauge" | "histogram" | "untyped";

/** Label names and values of one sample, in the order they are written. */
export type Labels = Readonly<Record<string, string>>;

export interface PrometheusText {
  /** Starts a metric family: its HELP and TYPE lines. Write each family once, then its samples. */
  family(name: string, type: MetricType, help: string): void;
  sample(name: string, labels: Labels | undefined, value: number): void;
  /**
   * Writes the _bucket, _sum and _count samples of a histogram. `counts[i]` is the number of
   * observations in bucket i alone (not cumulative); the last entry holds those above every bound.
   */
  histogram(
    name: string,
    labels: Labels | undefined,
    bounds: readonly number[],
    counts: ArrayLike<number>,
    sum: number,
  ): void;
  text(): string;
}

export function createPrometheusText(): PrometheusText {
  const lines: string[] = [];
  const sample = (name: string, labels: Labels | undefined, value: number) => {
    lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
  };
  return {
    family(name, type, help) {
      lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    },
    sample,
    histogram(name, labels, bounds, counts, sum) {
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += counts[i] ?? 0;
        sample(`${name}_bucket`, { ...labels, le: formatValue(bounds[i] ?? 0) }, cumulative);
      }
      cumulative += counts[bounds.length] ?? 0;
      sample(`${name}_bucket`, { ...labels, le: "+Inf" }, cumulative);
      sample(`${name}_sum`, labels, sum);
      sample(`${name}_count`, labels, cumulative);
    },
    text: () => (lines.length === 0 ? "" : `${lines.join("\n")}\n`),
  };
}

function formatLabels(labels: Labels | undefined): string {
  if (labels === undefined) return "";
  const parts: string[] = [];
  for (const key in labels) parts.push(`${key}="${escapeLabelValue(labels[key] ?? "")}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function escapeLabelValue(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
