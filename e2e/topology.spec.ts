import { expect, test } from "@playwright/test";
import { generateLoad } from "./load";
import { ConsolePage } from "./pages/console-page";
import { deregister, registerTtlInstance } from "./registry-http";
import { stackValue } from "./stack-env";

test.describe("topology", () => {
  test("shows live traffic on the edges, health colours, and opens a service", async ({ page }) => {
    const console = new ConsolePage(page, stackValue("consoleUrl"));
    await console.open("/topology");
    await expect(page.getByTestId("topology-node-router")).toHaveCount(3);
    await expect(page.getByTestId("topology-node-gateway")).toHaveCount(1);
    const echo = page.locator('[data-testid="topology-node-service"][data-id="agent-echo"]');
    await expect(echo).toHaveAttribute("data-status", "passing");

    const load = generateLoad({
      frontDoor: stackValue("frontDoor"),
      calls: 4000,
      maxMs: 8000,
      concurrency: 4,
    });
    // Traffic reaches the echo service's edges while the load runs.
    await expect
      .poll(
        async () =>
          Number(
            (await page
              .getByTestId("topology-row-agent-echo")
              .locator("td")
              .nth(2)
              .textContent()) ?? "0",
          ),
        { timeout: 15_000 },
      )
      .toBeGreaterThan(0);
    await expect(page.locator('[data-testid="topology-edge"] .edge-ok').first()).toBeVisible();
    await load;

    await echo.click();
    await expect(page).toHaveURL(/\/services\/agent-echo/);
  });

  test("stays readable with 20 services: no two labels overlap", async ({ page }) => {
    const extra = Array.from(
      { length: 17 },
      (_, i) => `tool-e2e-many-${String(i).padStart(2, "0")}`,
    );
    await Promise.all(extra.map((name, i) => registerTtlInstance(name, `${name}-1`, 100 + i)));
    try {
      const console = new ConsolePage(page, stackValue("consoleUrl"));
      await console.open("/topology");
      await expect
        .poll(() => page.getByTestId("topology-node-service").count())
        .toBeGreaterThanOrEqual(20);
      const boxes = await page
        .locator('[data-testid^="topology-node-"] .topology-label')
        .evaluateAll((els) =>
          els.map((e) => {
            const r = e.getBoundingClientRect();
            return { x: r.x, y: r.y, w: r.width, h: r.height, text: e.textContent ?? "" };
          }),
        );
      const overlaps: string[] = [];
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i];
          const b = boxes[j];
          if (!a || !b) continue;
          if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) {
            overlaps.push(`${a.text} / ${b.text}`);
          }
        }
      }
      expect(overlaps).toEqual([]);
      await page.screenshot({ path: "e2e/artifacts/topology-20-services.png", fullPage: true });
    } finally {
      await Promise.all(extra.map((name) => deregister(`${name}-1`)));
    }
  });
});
