import { describe, expect, it } from "vitest";
import { type CallRecord, overflowSeries } from "./call-recorder";
import { createRouterMetrics } from "./router-metrics";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of text format 0.0.4: every sample must follow its family's TYPE line. */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  expect(text.endsWith("\n")).toBe(true);
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.slice(0, -1).split("\n")) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|untyped)$/.exec(line);
    if (type?.[1] && type[2]) {
      expect(types.has(type[1]), `family ${type[1]} declared twice`).toBe(false);
      types.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith("# HELP ")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m?.[1] || m[3] === undefined) throw new Error(`not a sample line: ${line}`);
    const name = m[1];
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
    expect(types.has(family), `sample ${name} before its TYPE`).toBe(true);
    const value = m[3] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[3]);
    expect(Number.isNaN(value) && m[3] !== "NaN").toBe(false);
    samples.push({ name, labels: parseLabels(m[2] ?? ""), value });
  }
  return { types, samples };
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('="', i);
    const key = text.slice(i, eq);
    expect(key).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
    let value = "";
    let j = eq + 2;
    for (; text[j] !== '"'; j++) {
      if (j >= text.length) throw new Error(`unterminated label in ${text}`);
      if (text[j] === "\\") {
        j++;
        value += text[j] === "n" ? "\n" : text[j];
      } else value += text[j];
    }
    labels[key] = value;
    i = j + 1;
    if (text[i] === ",") i++;
  }
  return labels;
}

const find = (samples: Sample[], name: string, labels: Record<string, string>) =>
  samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;

const execute = "/agentplatform.v1.AgentService/ExecuteTask";
const stream = "/agentplatform.v1.AgentService/StreamTask";
const call = (over: Partial<CallRecord>): CallRecord => ({
  method: execute,
  service: "agent-echo",
  backend: "127.0.0.1:7001",
  code: 0,
  durationMs: 1,
  messages: 1,
  retried: false,
  ...over,
});

describe("router metrics", () => {
  it("exposes calls by code, latency histograms and gauges that parse back", () => {
    let now = 10_000_000;
    const metrics = createRouterMetrics({ now: () => now, dialInLinks: () => 3 });
    for (let i = 0; i < 8; i++) metrics.record(call({ durationMs: 0.3 }));
    metrics.record(call({ code: 14, durationMs: 30, retried: true }));
    metrics.record(call({ service: 'weird"svc\\\n', code: 5, durationMs: 2000 }));
    metrics.callStarted(stream, "127.0.0.1:7001", true);
    metrics.ejected("agent-echo", "127.0.0.1:7002");
    metrics.registryAnswered("agent-echo");
    now += 4500;

    const { types, samples } = parseExposition(metrics.renderPrometheus());
    expect(types.get("router_calls_total")).toBe("counter");
    expect(types.get("router_call_duration_seconds")).toBe("histogram");
    const calls = { service: "agent-echo", method: execute };
    expect(find(samples, "router_calls_total", { ...calls, code: "OK" })).toBe(8);
    expect(find(samples, "router_calls_total", { ...calls, code: "UNAVAILABLE" })).toBe(1);
    // Label values with quotes, backslashes and newlines survive escaping.
    expect(
      find(samples, "router_calls_total", { service: 'weird"svc\\\n', code: "NOT_FOUND" }),
    ).toBe(1);

    const histogram = { method: execute };
    expect(
      find(samples, "router_call_duration_seconds_bucket", { ...histogram, le: "0.0005" }),
    ).toBe(8);
    expect(find(samples, "router_call_duration_seconds_bucket", { ...histogram, le: "0.05" })).toBe(
      9,
    );
    expect(find(samples, "router_call_duration_seconds_bucket", { ...histogram, le: "1" })).toBe(9);
    expect(find(samples, "router_call_duration_seconds_bucket", { ...histogram, le: "+Inf" })).toBe(
      10,
    );
    expect(find(samples, "router_call_duration_seconds_count", histogram)).toBe(10);
    expect(find(samples, "router_call_duration_seconds_sum", histogram)).toBeCloseTo(2.0324);
    const buckets = samples.filter(
      (s) => s.name === "router_call_duration_seconds_bucket" && s.labels.method === execute,
    );
    for (let i = 1; i < buckets.length; i++) {
      expect(buckets[i]?.value).toBeGreaterThanOrEqual(buckets[i - 1]?.value ?? 0);
    }

    expect(find(samples, "router_in_flight_calls", { method: stream })).toBe(1);
    expect(find(samples, "router_active_streams", { method: stream })).toBe(1);
    expect(find(samples, "router_backend_ejected", { backend: "127.0.0.1:7002" })).toBe(1);
    expect(find(samples, "router_retries_total", { service: "agent-echo" })).toBe(1);
    expect(find(samples, "router_ejections_total", { service: "agent-echo" })).toBe(1);
    expect(find(samples, "router_discovery_staleness_seconds", { service: "agent-echo" })).toBe(
      4.5,
    );
    expect(find(samples, "router_dial_in_links", {})).toBe(3);
    metrics.close();
  });

  it("exposes overload refusals, when they were decided, waiting calls and limits", () => {
    const metrics = createRouterMetrics({
      admission: () => ({
        queued: [{ service: "agent-echo", calls: 12 }],
        limits: [{ address: "10.0.0.1:7001", limit: 9 }],
      }),
    });
    metrics.overloadRefused("agent-echo", 0.2);
    metrics.overloadRefused("agent-echo", 40);
    metrics.overloadRefused("agent-echo", 180);
    const { types, samples } = parseExposition(metrics.renderPrometheus());
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find(
        (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
      )?.value;
    expect(types.get("router_overload_refusal_wait_seconds")).toBe("histogram");
    expect(value("router_overload_refusals_total", { service: "agent-echo" })).toBe(3);
    expect(value("router_overload_refusal_wait_seconds_bucket", { le: "0.0005" })).toBe(1);
    expect(value("router_overload_refusal_wait_seconds_bucket", { le: "0.05" })).toBe(2);
    expect(value("router_overload_refusal_wait_seconds_bucket", { le: "0.1" })).toBe(2);
    expect(value("router_overload_refusal_wait_seconds_bucket", { le: "0.25" })).toBe(3);
    expect(value("router_overload_refusal_wait_seconds_count")).toBe(3);
    expect(value("router_overload_queued_calls", { service: "agent-echo" })).toBe(12);
    expect(value("router_instance_concurrency_limit", { instance: "10.0.0.1:7001" })).toBe(9);
  });

  it("reports windowed RouterStats by method and backend", () => {
    let now = 50_000_000;
    const metrics = createRouterMetrics({ now: () => now });
    for (let i = 0; i < 40; i++) {
      metrics.record(call({ backend: i % 2 ? "10.0.0.1:1" : "10.0.0.2:1", durationMs: 4 }));
    }
    metrics.record(call({ code: 14, backend: "10.0.0.2:1", durationMs: 4 }));
    metrics.record(call({ code: 14, backend: "10.0.0.2:1", durationMs: 4, retried: true }));
    metrics.record(
      call({ method: stream, durationMs: 900, streaming: true, ttfbMs: 12, messages: 9 }),
    );
    metrics.callStarted(stream, "10.0.0.1:1", true);
    metrics.callStarted(execute, "10.0.0.2:1");
    metrics.callStarted(execute, "10.0.0.2:1");
    metrics.callEnded(execute, "10.0.0.2:1");
    now += 1000;

    const stats = metrics.snapshot();
    expect(stats.totalCalls).toBe(43n);
    expect(stats.totalErrors).toBe(2n);
    expect(stats.retries).toBe(1n);
    expect(stats.inFlight).toBe(2);
    expect(stats.total?.requestsPerSecond).toBe(43);
    expect(stats.total?.activeStreams).toBe(1);

    const [executeStats, streamStats] = stats.methods;
    expect(executeStats?.method).toBe(execute);
    expect(executeStats?.window?.errorsPerSecond).toBe(2);
    expect(executeStats?.window?.p50Ms).toBeGreaterThan(3.7);
    expect(executeStats?.window?.p50Ms).toBeLessThan(4.3);
    expect(streamStats?.window?.timeToFirstMessageP50Ms).toBeGreaterThan(11);
    expect(streamStats?.window?.timeToFirstMessageP50Ms).toBeLessThan(13);
    expect(streamStats?.window?.messagesPerSecond).toBe(9);

    const [first, second] = stats.backends;
    expect(first?.address).toBe("10.0.0.1:1");
    expect(first?.service).toBe("agent-echo");
    expect(first?.window?.activeStreams).toBe(1);
    expect(second?.consecutiveFailures).toBe(2);
    expect(second?.inFlight).toBe(1);
    expect(second?.window?.requestsPerSecond).toBe(22);

    // Ten seconds later the window is empty but the totals remain.
    now += 12_000;
    const later = metrics.snapshot(10);
    expect(later.total?.requestsPerSecond).toBe(0);
    expect(later.totalCalls).toBe(43n);
  });

  it("keeps a long stream out of the unary latency percentiles and reports its first message", () => {
    let now = 70_000_000;
    const metrics = createRouterMetrics({ now: () => now });
    for (let i = 0; i < 50; i++) metrics.record(call({ durationMs: 3 }));
    // A 20-second StreamTask that finished in the same second as the fast unary calls.
    metrics.record(
      call({ method: stream, durationMs: 20_000, streaming: true, ttfbMs: 40, messages: 50 }),
    );
    now += 1000;

    const stats = metrics.snapshot();
    expect(stats.total?.requestsPerSecond).toBe(51);
    expect(stats.total?.p99Ms).toBeGreaterThan(2.5);
    expect(stats.total?.p99Ms).toBeLessThan(4);
    expect(stats.total?.timeToFirstMessageP50Ms).toBeGreaterThan(35);
    expect(stats.total?.timeToFirstMessageP50Ms).toBeLessThan(45);
    expect(stats.total?.messagesPerSecond).toBe(100);
    const instance = stats.backends[0]?.window;
    expect(instance?.p99Ms).toBeLessThan(4);
    expect(instance?.timeToFirstMessageP50Ms).toBeGreaterThan(35);

    // The stream's own, labelled series keeps its duration.
    const streamStats = stats.methods.find((m) => m.method === stream)?.window;
    expect(streamStats?.p50Ms).toBeGreaterThan(15_000);
    expect(streamStats?.timeToFirstMessageP50Ms).toBeGreaterThan(35);
    metrics.close();
  });

  it("folds unexpected method names into one series instead of growing without bound", () => {
    const metrics = createRouterMetrics({ maxSeries: 3 });
    for (let i = 0; i < 50; i++) metrics.record(call({ method: `/junk.Service/M${i}` }));
    const stats = metrics.snapshot();
    expect(stats.methods.length).toBeLessThanOrEqual(4);
    expect(stats.methods.some((m) => m.method === overflowSeries)).toBe(true);
    expect(stats.totalCalls).toBe(50n);
  });

  it("forgets backends idle for longer than backendIdleMs", () => {
    let now = 1_000_000;
    const metrics = createRouterMetrics({
      now: () => now,
      backendIdleMs: 60_000,
    });
    metrics.record(call({ backend: "10.0.0.9:1" }));
    expect(metrics.snapshot().backends.map((b) => b.address)).toEqual(["10.0.0.9:1"]);
    now += 61_000;
    expect(metrics.snapshot().backends).toEqual([]);
  });
});
