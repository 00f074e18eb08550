import { expect, test } from "@playwright/test";
import { TasksPage } from "./pages/tasks-page";
import { stackValue } from "./stack-env";

test.describe("tasks", () => {
  test("starts an itinerary job, follows it to its result, and remembers it after a reload", async ({
    page,
  }) => {
    const tasks = new TasksPage(page, stackValue("consoleUrl"));
    await tasks.goto();
    await tasks.start("Lisbon");
    await expect(page).toHaveURL(/task=/);
    await expect(tasks.detailState).toHaveAttribute("data-state", "succeeded", { timeout: 30_000 });
    await expect(page.getByTestId("task-output")).toContainText("Lisbon");
    await page.reload();
    await expect(page.getByTestId("task-list").locator("li")).toHaveCount(1);
    await expect(tasks.detailState).toHaveAttribute("data-state", "succeeded");
  });

  test("cancels a running job", async ({ page }) => {
    const tasks = new TasksPage(page, stackValue("consoleUrl"));
    await tasks.goto();
    await tasks.addParameter("pace_ms", "5000");
    await tasks.start("Paris");
    await expect(tasks.detailState).toHaveAttribute("data-state", /pending|running/, {
      timeout: 15_000,
    });
    await page.getByTestId("task-cancel").click();
    await expect(tasks.detailState).toHaveAttribute("data-state", "cancelled", { timeout: 15_000 });
  });
});
