// Maintenance and router drain from the console: confirmation, the registry's answer, and the
// audit log's record.
import { expect, test } from "@playwright/test";
import { AuditPage } from "./pages/audit-page";
import { RunPage } from "./pages/run-page";
import { ServicesPage } from "./pages/services-page";
import { stackValue } from "./stack-env";

test.describe("operator actions", () => {
  test("puts an echo instance into maintenance and back, and the audit log shows both", async ({
    page,
  }) => {
    const services = new ServicesPage(page, stackValue("consoleUrl"));
    await services.open("/services/agent-echo");
    const open = page.locator('[data-testid^="maintenance-open-"]').first();
    const testId = (await open.getAttribute("data-testid")) ?? "";
    const instanceId = testId.replace("maintenance-open-", "");
    const card = page.getByTestId(`instance-${instanceId}`);
    await expect(card).toHaveAttribute("data-status", "passing");
    try {
      await open.click();
      const dialog = page.getByTestId("maintenance-dialog").first();
      await expect(dialog).toBeVisible();
      await expect(page.getByTestId("maintenance-confirm").first()).toBeDisabled();
      await page.getByTestId("maintenance-reason").first().fill("e2e: swapping a disk");
      await page.getByTestId("maintenance-confirm").first().click();
      await expect(dialog).toBeHidden();
      await expect(open).toBeFocused();
      await expect(card).toHaveAttribute("data-status", "critical");
      await expect(card.getByTestId("maintenance-note")).toContainText("e2e: swapping a disk");
    } finally {
      await page.getByTestId(`maintenance-open-${instanceId}`).click();
      await page.getByTestId("maintenance-confirm").first().click();
    }
    await expect(card).toHaveAttribute("data-status", "passing", { timeout: 15_000 });
    await expect(card.getByTestId("maintenance-note")).toHaveCount(0);

    const audit = new AuditPage(page, stackValue("consoleUrl"));
    await audit.goto();
    const rows = audit.rows.filter({ hasText: "SetMaintenance" });
    await expect(rows).toHaveCount(2);
    await rows.last().getByTestId("audit-open").click();
    await expect(page.getByTestId("audit-detail")).toContainText(
      "maintenance on: e2e: swapping a disk",
    );
    await expect(page.getByTestId("audit-detail")).toContainText(instanceId);
  });

  test("a drained router gets no new calls until the drain ends", async ({ page }) => {
    test.setTimeout(120_000);
    const console = new RunPage(page, stackValue("consoleUrl"));
    await console.open("/routers");
    const drain = page.locator('[data-testid^="drain-open-"]').first();
    const routerId = ((await drain.getAttribute("data-testid")) ?? "").replace("drain-open-", "");
    try {
      await drain.click();
      await page.getByTestId("maintenance-reason").first().fill("e2e: rolling restart");
      await page.getByTestId("maintenance-confirm").first().click();
      await expect(page.getByTestId("router-drained")).toHaveCount(1);

      const run = new RunPage(page, stackValue("consoleUrl"));
      await run.goto("?target=echo-agent&kind=agent");
      await run.chooseMethod("ExecuteTask");
      await run.fillInput("who serves me");
      const routers = new Set<string>();
      for (let i = 0; i < 8; i++) {
        await run.run();
        await expect(run.resultCode).toHaveAttribute("data-code", "OK");
        routers.add((await page.getByTestId("result-router").textContent()) ?? "");
      }
      expect([...routers].some((r) => r.includes(routerId))).toBe(false);
      expect(routers.size).toBeGreaterThan(0);
    } finally {
      await console.open("/routers");
      await page.getByTestId(`drain-open-${routerId}`).click();
      await page.getByTestId("maintenance-confirm").first().click();
    }
    await expect(page.getByTestId("router-drained")).toHaveCount(0, { timeout: 15_000 });
  });
});
