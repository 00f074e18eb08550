import { expect, test } from "@playwright/test";
import { generateLoad } from "./load";
import { OverviewPage } from "./pages/overview-page";
import { stackValue } from "./stack-env";

test.describe("overview", () => {
  test("shows agents, tools, workers and routers healthy", async ({ page }) => {
    const overview = new OverviewPage(page, stackValue("consoleUrl"));
    await overview.goto();
    await expect(overview.authOffBanner).toContainText(
      "Authentication is off: the gateway only listens on loopback",
    );
    for (const kind of ["agent", "tool", "worker", "router"] as const) {
      const card = overview.healthCard(kind);
      await expect(card, `${kind} card`).toHaveAttribute("data-tone", "ok");
      const total = Number(await card.getAttribute("data-total"));
      expect(total, `${kind} instances`).toBeGreaterThan(0);
      await expect(card).toHaveAttribute("data-passing", String(total));
    }
    await expect(overview.healthCard("router")).toHaveAttribute("data-total", "3");
    await expect(overview.liveIndicator).toHaveText("Live");
  });

  test("charts show non-zero traffic while calls flow through the front door", async ({ page }) => {
    const overview = new OverviewPage(page, stackValue("consoleUrl"));
    await overview.goto();
    const load = generateLoad({ frontDoor: stackValue("frontDoor"), calls: 3000, maxMs: 12_000 });
    await expect.poll(() => overview.clusterRps(), { timeout: 20_000 }).toBeGreaterThan(0);
    const result = await load;
    expect(result.ok).toBeGreaterThan(0);
    // The latency chart has data once calls have been measured.
    await expect(
      page.getByTestId("cluster-latency").locator('[data-series="p99"]'),
    ).not.toHaveAttribute("data-value", "");
  });
});
