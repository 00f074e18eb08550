import { expect, test } from "@playwright/test";
import { AuditPage } from "./pages/audit-page";
import { RunPage } from "./pages/run-page";
import { stackValue } from "./stack-env";

test.describe("audit", () => {
  test("a run is kept with its date, router and redacted metadata, and opens in full", async ({
    page,
  }) => {
    const run = new RunPage(page, stackValue("consoleUrl"));
    await run.goto("?target=echo-agent&kind=agent");
    await run.chooseMethod("ExecuteTask");
    await run.fillInput("audit me");
    await page.getByRole("button", { name: "Add metadata" }).click();
    await page.getByLabel("Metadata key 1").fill("x-api-key");
    await page.getByLabel("Metadata value 1").fill("sekrit-value");
    await page.getByRole("button", { name: "Add metadata" }).click();
    await page.getByLabel("Metadata key 2").fill("x-note");
    await page.getByLabel("Metadata value 2").fill("kept");
    await run.run();
    await expect(run.resultCode).toHaveAttribute("data-code", "OK");

    const audit = new AuditPage(page, stackValue("consoleUrl"));
    await audit.goto();
    await expect(page.getByTestId("audit-scope")).toContainText("Not recorded");
    await expect(page.getByTestId("audit-scope")).toContainText("front door");
    const row = audit.rows.filter({ hasText: "ExecuteTask" }).first();
    await expect(row).toContainText(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/);
    await row.getByTestId("audit-open").click();
    const detail = page.getByTestId("audit-detail");
    await expect(detail).toContainText("AgentService/ExecuteTask");
    await expect(page.getByTestId("audit-detail-router")).toContainText(/router/);
    await expect(page.getByTestId("audit-detail-metadata")).toContainText("[redacted]");
    await expect(page.getByTestId("audit-detail-metadata")).toContainText("kept");
    await expect(page.getByTestId("audit-detail-metadata")).not.toContainText("sekrit-value");
    await expect(page).toHaveURL(/entry=\d+/);
  });

  test("a routing probe is audited, and a time range narrows the list", async ({ page }) => {
    const console = new AuditPage(page, stackValue("consoleUrl"));
    await console.open("/routers?probe=echo-agent");
    await expect(page.getByTestId("resolve-probe")).toContainText("echo-agent");
    await console.goto();
    const probe = console.rows.filter({ hasText: "ResolveTarget" }).first();
    await expect(probe).toContainText("probe");
    // A range that ended an hour ago holds none of this run's entries.
    const hourAgo = new Date(Date.now() - 3600_000);
    const pad = (n: number) => String(n).padStart(2, "0");
    const local = `${hourAgo.getFullYear()}-${pad(hourAgo.getMonth() + 1)}-${pad(hourAgo.getDate())}T${pad(hourAgo.getHours())}:${pad(hourAgo.getMinutes())}`;
    await page.getByTestId("audit-to").fill(local);
    await expect(page.getByTestId("audit-empty")).toBeVisible();
  });

  test("at phone width the code column stays on screen", async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    const audit = new AuditPage(page, stackValue("consoleUrl"));
    await audit.open("/routers?probe=echo-agent");
    await expect(page.getByTestId("resolve-probe")).toContainText("echo-agent");
    await audit.goto();
    const code = audit.rows.first().locator(".badge");
    await expect(code).toBeVisible();
    const box = await code.boundingBox();
    expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual(390);
  });
});
