// What `npm run bench:console` measures, and the Markdown it prints (and, when asked, writes to
// docs/BENCHMARKS.md under "## Console").
import type { TimingReport } from "./browser-timing";

export interface StreamResult {
  messages: number;
  seconds: number;
  timing: TimingReport;
  responseP95Ms: number;
  responseMaxMs: number;
  domRows: number;
}

export interface ChartResult {
  page: string;
  services: number;
  routers: number;
  rps: number;
  timing: TimingReport;
}

export interface ConsoleResults {
  date: string;
  browser: string;
  /** 1-minute load average when the benchmark started: other work on the machine shows here. */
  loadAverage: number;
  stream?: StreamResult;
  charts: ChartResult[];
}

/** Where the benchmark leaves its figures for the runner (bench/results/ is not tracked). */
export const consoleResultsFile = new URL("../results/console.json", import.meta.url).pathname;

const ms = (v: number) => `${v.toFixed(1)} ms`;

export function formatConsoleResults(results: ConsoleResults): string {
  const lines = [
    `Measured with \`npm run bench:console\` on ${results.date}, headless ${results.browser}, the 2-core machine (load average ${results.loadAverage.toFixed(2)} at the start), the whole stack running beside the browser.`,
    "",
  ];
  const stream = results.stream;
  if (stream !== undefined) {
    lines.push(
      "### Run page: one stream of 10,000 messages",
      "",
      "The echo agent's StreamTask with 9,999 words and `delay_ms=0`, called through the gateway's Invoke, rendered in the virtualised list.",
      "",
      "| measure | value |",
      "| --- | --- |",
      `| messages | ${stream.messages.toLocaleString("en-US")} in ${stream.seconds.toFixed(1)} s (${Math.round(stream.messages / stream.seconds).toLocaleString("en-US")}/s) |`,
      `| frame interval p50 / p95 / p99 / max | ${ms(stream.timing.frameP50Ms)} / ${ms(stream.timing.frameP95Ms)} / ${ms(stream.timing.frameP99Ms)} / ${ms(stream.timing.frameMaxMs)} |`,
      `| long tasks (>50 ms) | ${stream.timing.longTasks}, longest ${ms(stream.timing.longTaskMaxMs)}, ${ms(stream.timing.longTaskTotalMs)} in all |`,
      `| page response to a script, p95 / max | ${ms(stream.responseP95Ms)} / ${ms(stream.responseMaxMs)} |`,
      `| message rows in the DOM at the end | ${stream.domRows} |`,
      "",
    );
  }
  if (results.charts.length > 0) {
    lines.push(
      "### Live charts under load",
      "",
      "Three routers, the stack's own services plus six stand-ins registered with real TCP checks, a bounded gRPC load on the front door; 8 s of frames while the charts update every second.",
      "",
      "| page | services | RPS shown | frames | frame p50 / p95 / max | long tasks (longest) |",
      "| --- | --- | --- | --- | --- | --- |",
      ...results.charts.map(
        (c) =>
          `| ${c.page} | ${c.services} | ${Math.round(c.rps)} | ${c.timing.frames} | ${ms(c.timing.frameP50Ms)} / ${ms(c.timing.frameP95Ms)} / ${ms(c.timing.frameMaxMs)} | ${c.timing.longTasks} (${ms(c.timing.longTaskMaxMs)}) |`,
      ),
      "",
    );
  }
  return lines.join("\n");
}
