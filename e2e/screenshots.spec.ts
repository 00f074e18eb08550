// Full-page screenshots of every page, light and dark, desktop and phone, for people to look at.
import { join } from "node:path";
import { expect, type Page, test } from "@playwright/test";
import { ConsolePage } from "./pages/console-page";
import { RunPage } from "./pages/run-page";
import { TasksPage } from "./pages/tasks-page";
import { stackValue } from "./stack-env";

const dir = join(import.meta.dirname, "artifacts", "screenshots");
const schemes = ["light", "dark"] as const;

const pages: Array<{ name: string; path: string; ready: string }> = [
  { name: "overview", path: "/", ready: "overview-page" },
  { name: "services", path: "/services", ready: "services-page" },
  { name: "service-detail", path: "/services/agent-echo", ready: "service-detail-page" },
  { name: "routers", path: "/routers?probe=echo-agent", ready: "probe-chosen" },
  { name: "topology", path: "/topology", ready: "topology-graph" },
  { name: "run", path: "/run?target=echo-agent&kind=agent", ready: "run-page" },
  { name: "tasks", path: "/tasks", ready: "tasks-page" },
  { name: "audit", path: "/audit", ready: "audit-page" },
];

async function settle(page: Page, ready: string) {
  await expect(page.getByTestId(ready)).toBeVisible();
  await expect(page.getByTestId("loading")).toHaveCount(0, { timeout: 15_000 });
  // Charts draw their first points within a second or two of the metrics stream opening.
  await page.waitForTimeout(2500);
}

async function streamSomething(page: Page) {
  const run = new RunPage(page, stackValue("consoleUrl"));
  await run.chooseMethod("StreamTask");
  await run.fillInput("Screenshots show streamed messages as they arrive");
  await run.addParameter("delay_ms", "0");
  await run.run();
  await expect(run.resultCode).toHaveAttribute("data-code", "OK");
  await page.getByTestId("message-row").nth(2).click();
}

async function startJob(page: Page) {
  const tasks = new TasksPage(page, stackValue("consoleUrl"));
  await tasks.start("Lisbon");
  await expect(tasks.detailState).not.toHaveAttribute("data-state", "unknown");
  await page.waitForTimeout(1500);
}

for (const scheme of schemes) {
  test(`every page at 1280x800, ${scheme}`, async ({ page }) => {
    test.setTimeout(120_000);
    await page.emulateMedia({ colorScheme: scheme });
    const shell = new ConsolePage(page, stackValue("consoleUrl"));
    for (const p of pages) {
      await shell.open(p.path);
      await settle(page, p.ready);
      if (p.name === "run") await streamSomething(page);
      if (p.name === "tasks") await startJob(page);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(dir, `${p.name}-desktop-${scheme}.png`), fullPage: true });
    }
  });

  test(`every page at 390x844, ${scheme}`, async ({ page }) => {
    test.setTimeout(120_000);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.emulateMedia({ colorScheme: scheme });
    const shell = new ConsolePage(page, stackValue("consoleUrl"));
    for (const p of pages) {
      await shell.open(p.path);
      await settle(page, p.ready);
      if (p.name === "run") await streamSomething(page);
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: join(dir, `${p.name}-phone-${scheme}.png`), fullPage: true });
      // Nothing may stick out sideways on a phone.
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - window.innerWidth,
      );
      expect(overflow, `${p.name} horizontal overflow`).toBeLessThanOrEqual(0);
    }
  });
}
