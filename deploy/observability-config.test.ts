// Docker is not available here: the observability profile's files (docker-compose.yml,
// deploy/prometheus.yml, deploy/grafana/) are parsed and checked against the repository and
// against the metric names the processes really expose.
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderRuntimeMetrics } from "../platform/runtime-metrics";
import { createRouterMetrics } from "../router/metrics/router-metrics";
import { createServiceMetrics } from "../services/sdk/service-metrics";

const root = new URL("../", import.meta.url);
const text = (path: string) => readFileSync(new URL(path, root), "utf8");

interface ComposeService {
  build?: unknown;
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  profiles?: string[];
}
const compose = parse(text("docker-compose.yml"), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const prometheus = parse(text("deploy/prometheus.yml")) as {
  scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[];
};
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { uid: string };
  targets?: { expr: string }[];
}
const dashboardFiles = readdirSync(new URL("deploy/grafana/dashboards/", root)).filter((f) =>
  f.endsWith(".json"),
);

/** Compose services built from this repository that serve gRPC (and so /metrics). */
const grpcProcesses = Object.entries(compose.services).filter(
  ([name, s]) => s.build !== undefined && !["agent-tokens", "console", "nat-agent"].includes(name),
);

/** Every family name the processes expose, with a histogram's _bucket/_sum/_count series. */
async function exposedNames(): Promise<Set<string>> {
  const router = createRouterMetrics();
  router.record({
    method: "/agentplatform.v1.AgentService/ExecuteTask",
    service: "agent-echo",
    backend: "127.0.0.1:1",
    code: 0,
    durationMs: 1,
    messages: 1,
    retried: true,
  });
  const service = createServiceMetrics({ service: "agent-echo" });
  const texts = [router.renderPrometheus(), service.render(), await renderRuntimeMetrics()];
  const names = new Set<string>();
  for (const t of texts) {
    for (const [, name, type] of t.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      names.add(name as string);
      if (type === "histogram")
        for (const s of ["_bucket", "_sum", "_count"]) names.add(`${name}${s}`);
    }
  }
  return names;
}

describe("the observability profile in docker-compose.yml", () => {
  it("runs Jaeger (OTLP), Prometheus and Grafana only under the profile, UIs on loopback", () => {
    for (const name of ["jaeger", "prometheus", "grafana"]) {
      expect(compose.services[name]?.profiles, name).toEqual(["observability"]);
      for (const port of compose.services[name]?.ports ?? [])
        expect(port).toMatch(/^127\.0\.0\.1:/);
    }
    expect(compose.services.jaeger?.image).toMatch(/^jaegertracing\/all-in-one:/);
    expect(compose.services.jaeger?.environment?.COLLECTOR_OTLP_ENABLED).toBe("true");
    expect(compose.services.prometheus?.volumes).toContain(
      "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
    );
  });

  it("gives every platform process a metrics port Prometheus scrapes, and the OTLP variable", () => {
    expect(grpcProcesses.map(([n]) => n).sort()).toEqual(
      ["echo-agent", "gateway", "itinerary-worker", "router", "weather-tool"].sort(),
    );
    const jobs = new Map(
      prometheus.scrape_configs.flatMap((job) =>
        job.dns_sd_configs.flatMap((sd) => sd.names.map((n) => [n, sd.port] as const)),
      ),
    );
    for (const [name, s] of grpcProcesses) {
      expect(s.environment?.METRICS_PORT, name).toBe("9464");
      expect(jobs.get(name), `a scrape job for ${name}`).toBe(9464);
      expect(s.environment?.OTEL_EXPORTER_OTLP_ENDPOINT, name).toMatch(
        /^\$\{OTEL_EXPORTER_OTLP_ENDPOINT:-\}$/,
      );
    }
    for (const target of jobs.keys()) expect(compose.services[target], target).toBeDefined();
  });

  it("provisions Grafana with data sources that are compose services", () => {
    const sources = parse(text("deploy/grafana/provisioning/datasources/datasources.yml")) as {
      datasources: { uid: string; url: string }[];
    };
    for (const source of sources.datasources) {
      const host = new URL(source.url).hostname;
      expect(compose.services[host], source.url).toBeDefined();
    }
    const providers = parse(text("deploy/grafana/provisioning/dashboards/dashboards.yml")) as {
      providers: { options: { path: string } }[];
    };
    const mounted = compose.services.grafana?.volumes ?? [];
    for (const provider of providers.providers) {
      expect(mounted).toContain(`./deploy/grafana/dashboards:${provider.options.path}:ro`);
    }
  });
});

describe("the Grafana dashboards", () => {
  it("query only metric names the processes expose", async () => {
    const names = await exposedNames();
    expect(dashboardFiles.length).toBeGreaterThan(0);
    for (const file of dashboardFiles) {
      const dashboard = JSON.parse(text(`deploy/grafana/dashboards/${file}`)) as {
        uid: string;
        panels: Panel[];
      };
      const ids = dashboard.panels.map((p) => p.id);
      expect(new Set(ids).size, `${file}: panel ids unique`).toBe(ids.length);
      const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
      expect(exprs.length).toBeGreaterThan(10);
      for (const expr of exprs) {
        const used = [...expr.matchAll(/\b((?:router|grpc_server|process|nodejs)_[a-z0-9_]+)/g)];
        expect(used.length, expr).toBeGreaterThan(0);
        for (const [, name] of used)
          expect(names.has(name as string), `${file}: ${name}`).toBe(true);
      }
      for (const panel of dashboard.panels) {
        expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
      }
    }
    // The dashboard covers what operators look for first.
    const all = dashboardFiles.map((f) => text(`deploy/grafana/dashboards/${f}`)).join("\n");
    for (const wanted of [
      "router_calls_total",
      "router_call_duration_seconds_bucket",
      "grpc_server_handling_seconds_bucket",
      "nodejs_eventloop_lag_p99_seconds",
      "nodejs_heap_size_used_bytes",
    ]) {
      expect(all).toContain(wanted);
    }
  });
});
