import { expect, test } from "@playwright/test";
import { OverviewPage } from "./pages/overview-page";
import { ServicesPage } from "./pages/services-page";
import { controlProcess } from "./stack-control";
import { stackValue } from "./stack-env";

test.describe("health", () => {
  test("a stopped echo instance turns critical within 15 s and healthy after restart", async ({
    page,
  }) => {
    test.setTimeout(120_000);
    const services = new ServicesPage(page, stackValue("consoleUrl"));
    await services.goto("?kind=agent");
    const echo = services.row("agent-echo");
    await expect(echo).toHaveAttribute("data-status", "passing");
    try {
      await controlProcess("stop", "echo");
      await expect(echo).toHaveAttribute("data-status", "critical", { timeout: 15_000 });

      await echo.click();
      await expect(page.getByTestId("service-status")).toHaveAttribute("data-status", "critical");
      await expect(page.getByTestId("health-check").first()).toHaveAttribute(
        "data-status",
        "critical",
      );

      const overview = new OverviewPage(page, stackValue("consoleUrl"));
      await overview.nav("overview").click();
      await expect(overview.healthCard("agent")).toHaveAttribute("data-tone", "bad");
    } finally {
      await controlProcess("start", "echo");
    }
    await services.nav("services").click();
    await expect(services.row("agent-echo")).toHaveAttribute("data-status", "passing", {
      timeout: 30_000,
    });
  });

  test("filters services by kind, status and text, and keeps them in the URL", async ({ page }) => {
    const services = new ServicesPage(page, stackValue("consoleUrl"));
    await services.goto();
    await services.search("weather");
    await expect(services.row("tool-weather")).toBeVisible();
    await expect(services.row("agent-echo")).toBeHidden();
    await expect(page).toHaveURL(/q=weather/);
    await services.goto("?status=critical");
    await expect(page.getByTestId("empty")).toContainText("No service matches");
  });
});
