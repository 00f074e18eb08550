// `npm run bench:console`: the console under load, measured in headless Chromium against the real
// stack: a 10,000-message stream on the Run page, and live charts with three routers and ten
// services. Figures only, no pass/fail on speed; bench/console/run.ts prints them as a table.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname } from "node:path";
import { expect, test } from "@playwright/test";
import { generateLoad } from "../../e2e/load";
import { OverviewPage } from "../../e2e/pages/overview-page";
import { RunPage } from "../../e2e/pages/run-page";
import { stackValue } from "../../e2e/stack-env";
import { installTiming, responseDelayMs, startMeasuring, stopMeasuring } from "./browser-timing";
import { type ConsoleResults, consoleResultsFile } from "./console-results";

test.describe.configure({ mode: "serial" });

const results: ConsoleResults = {
  date: new Date().toISOString().slice(0, 10),
  browser: chromiumVersion(),
  loadAverage: loadavg()[0] ?? 0,
  charts: [],
};

function chromiumVersion(): string {
  try {
    return execFileSync("/usr/bin/chromium", ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "Chromium";
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

test("Run page: a stream of 10,000 messages", async ({ page }) => {
  test.setTimeout(300_000);
  const total = 10_000;
  await installTiming(page);
  const run = new RunPage(page, stackValue("consoleUrl"));
  await run.goto("?target=echo-agent&kind=agent&method=/agentplatform.v1.AgentService/StreamTask");
  // The echo agent streams one message per word, then the final message.
  const words = Array.from({ length: total - 1 }, (_, i) => `m${i}`).join(" ");
  await run.setRequestJson({ agentId: "echo-agent", input: words, parameters: { delay_ms: "0" } });
  await page.getByTestId("run-deadline").fill("240000");

  await startMeasuring(page);
  const started = performance.now();
  await run.run();
  const delays: number[] = [];
  while ((await run.resultCode.getAttribute("data-code")) === "") {
    delays.push(await responseDelayMs(page));
    await page.waitForTimeout(200);
  }
  const seconds = (performance.now() - started) / 1000;
  const timing = await stopMeasuring(page);
  await expect(run.resultCode).toHaveAttribute("data-code", "OK");
  await expect.poll(() => run.messageCount()).toBe(total);
  results.stream = {
    messages: total,
    seconds,
    timing,
    responseP95Ms: percentile(delays, 95),
    responseMaxMs: Math.max(0, ...delays),
    domRows: await page.getByTestId("message-row").count(),
  };
});

test("live charts with three routers and ten services", async ({ page }) => {
  test.setTimeout(180_000);
  const registry = stackValue("registry");
  const echoPort = Number(stackValue("frontDoor").split(":")[1]) + 3;
  const extra = [
    "agent-planner",
    "agent-summarizer",
    "tool-geocoder",
    "tool-currency",
    "tool-calendar",
    "worker-reports",
  ];
  // Extra registrations with real TCP checks against the echo agent's port.
  for (const name of extra) {
    const [kind = "other", short = name] = name.split("-");
    const res = await fetch(`${registry}/v1/agent/service/register`, {
      method: "PUT",
      body: JSON.stringify({
        ID: `${name}-e2e`,
        Name: name,
        Tags: [kind],
        Address: "127.0.0.1",
        Port: echoPort,
        Meta: { name: short, description: `Benchmark stand-in ${name}`, version: "0.0.1" },
        Check: { TCP: `127.0.0.1:${echoPort}`, Interval: "2s" },
      }),
    });
    expect(res.ok, `register ${name}`).toBe(true);
  }
  try {
    await installTiming(page);
    const overview = new OverviewPage(page, stackValue("consoleUrl"));
    await overview.goto();
    const catalog = (await (await fetch(`${registry}/v1/catalog/services`)).json()) as object;
    const services = Object.keys(catalog).length;

    for (const target of [
      { name: "overview", path: "/" },
      { name: "routers", path: "/routers" },
    ]) {
      await overview.open(target.path);
      // Let the page settle, start the load, let the charts see it, then measure 8 s of frames.
      await page.waitForTimeout(2000);
      const load = generateLoad({
        frontDoor: stackValue("frontDoor"),
        calls: 20_000,
        maxMs: 12_000,
        concurrency: 4,
      });
      await page.waitForTimeout(2000);
      await startMeasuring(page);
      await page.waitForTimeout(8000);
      const timing = await stopMeasuring(page);
      const result = await load;
      const rps = target.name === "overview" ? await overview.clusterRps() : result.ok / 12;
      results.charts.push({ page: target.name, services, routers: 3, rps, timing });
    }
  } finally {
    for (const name of extra) {
      await fetch(`${registry}/v1/agent/service/deregister/${name}-e2e`, { method: "PUT" });
    }
  }
});

test.afterAll(() => {
  mkdirSync(dirname(consoleResultsFile), { recursive: true });
  writeFileSync(consoleResultsFile, `${JSON.stringify(results, null, 2)}\n`);
});
