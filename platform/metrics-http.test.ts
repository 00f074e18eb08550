import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "./log";
import { type MetricsServer, startMetricsServer } from "./metrics-http";

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function get(url: string, method = "GET") {
  return new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
    const req = request(url, { method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, type: res.headers["content-type"] ?? "", body }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("startMetricsServer", () => {
  it("serves fresh exposition text at /metrics over plain HTTP/1.1", async () => {
    let scrapes = 0;
    server = await startMetricsServer({
      render: () => `# TYPE scrapes counter\nscrapes ${++scrapes}\n`,
    });
    const first = await get(`${server.url}/metrics`);
    expect(first.status).toBe(200);
    expect(first.type).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(first.body.startsWith("# TYPE scrapes counter\nscrapes 1\n")).toBe(true);
    expect((await get(`${server.url}/metrics?x=1`)).body).toContain("scrapes 2");
  });

  it("appends the runtime families under their standard names, each declared once", async () => {
    server = await startMetricsServer({ render: () => "# TYPE own gauge\nown 1\n" });
    const { body } = await get(`${server.url}/metrics`);
    for (const family of [
      "process_cpu_seconds_total counter",
      "process_resident_memory_bytes gauge",
      "process_open_fds gauge",
      "nodejs_heap_size_used_bytes gauge",
      "nodejs_eventloop_lag_seconds gauge",
      "nodejs_gc_duration_seconds histogram",
    ]) {
      expect(body).toContain(`# TYPE ${family}\n`);
    }
    const declared = [...body.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]);
    expect(new Set(declared).size).toBe(declared.length);
    expect(body).not.toMatch(/^nodejs_heap_used_bytes/m);
    const runtimeOnly = await startMetricsServer({ render: () => "own 1\n", runtime: false });
    expect((await get(`${runtimeOnly.url}/metrics`)).body).toBe("own 1\n");
    await runtimeOnly.close();
  });

  it("answers /healthz from the health callback", async () => {
    let healthy = true;
    server = await startMetricsServer({ render: () => "", healthy: () => healthy });
    expect((await get(`${server.url}/healthz`)).status).toBe(200);
    healthy = false;
    const down = await get(`${server.url}/healthz`);
    expect(down.status).toBe(503);
    expect(down.body).toBe("unhealthy\n");
  });

  it("refuses other paths and methods, and reports a failing render as 500", async () => {
    const lines: string[] = [];
    server = await startMetricsServer({
      render: async () => {
        throw new Error("boom");
      },
      logger: createLogger("test", { write: (line) => lines.push(line) }),
    });
    expect((await get(`${server.url}/`)).status).toBe(404);
    expect((await get(`${server.url}/metrics`, "POST")).status).toBe(405);
    expect((await get(`${server.url}/metrics`)).status).toBe(500);
    expect(lines.some((l) => l.includes("metrics render failed"))).toBe(true);
  });

  it("closes promptly even with a kept-alive connection open", async () => {
    server = await startMetricsServer({ render: () => "" });
    await get(`${server.url}/healthz`);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(get(`${server.url}/healthz`)).rejects.toThrow();
  });
});
