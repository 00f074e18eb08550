import { expect, test } from "@playwright/test";
import { TasksPage } from "./pages/tasks-page";
import { stackValue } from "./stack-env";

test.describe("tasks", () => {
  test("starts an itinerary job, follows it, and remembers it after a reload", async ({ page }) => {
    const tasks = new TasksPage(page, stackValue("consoleUrl"));
    await tasks.goto();
    await tasks.start("Plan a 2-day trip to Lisbon");
    await expect(page.getByTestId("task-detail")).toBeVisible();
    await expect(tasks.detailState).not.toHaveAttribute("data-state", "unknown", {
      timeout: 15_000,
    });
    const taskUrl = page.url();
    expect(taskUrl).toMatch(/task=/);
    await page.reload();
    await expect(page.getByTestId("task-list").locator("li")).toHaveCount(1);
    await expect(tasks.detailState).toHaveAttribute(
      "data-state",
      /pending|running|succeeded|cancelled|failed/,
    );
    const state = await tasks.detailState.getAttribute("data-state");
    if (state === "pending" || state === "running") {
      await page.getByTestId("task-cancel").click();
      await expect(tasks.detailState).toHaveAttribute("data-state", /cancelled|succeeded|failed/, {
        timeout: 20_000,
      });
    }
  });
});
