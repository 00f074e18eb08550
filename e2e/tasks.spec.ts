import { expect, test } from "@playwright/test";
import { cancelJobOverGrpc, startJobOverGrpc } from "./grpc-client";
import { TasksPage } from "./pages/tasks-page";
import { stackValue } from "./stack-env";

test.describe("tasks", () => {
  test("starts an itinerary job, follows it to its result, and finds it in the server's list after a reload", async ({
    page,
  }) => {
    const tasks = new TasksPage(page, stackValue("consoleUrl"));
    await tasks.goto();
    await tasks.start("Lisbon");
    await expect(page).toHaveURL(/task=/);
    const taskId = new URL(page.url()).searchParams.get("task") ?? "";
    await expect(tasks.detailState).toHaveAttribute("data-state", "succeeded", { timeout: 30_000 });
    await expect(page.getByTestId("task-output")).toContainText("Lisbon");
    await page.reload();
    await expect(page.getByTestId(`task-row-${taskId}`)).toHaveAttribute("data-state", "succeeded");
    await expect(tasks.detailState).toHaveAttribute("data-state", "succeeded");
    await expect(page.getByTestId("task-created")).toContainText(/\d{4}-\d{2}-\d{2}/);
  });

  test("a job started from a gRPC client opens from a fresh browser, progress live", async ({
    browser,
  }) => {
    test.setTimeout(120_000);
    // Slow enough (six steps, 3 s apart) to still be running once a fresh browser has opened it.
    const taskId = await startJobOverGrpc(stackValue("frontDoor"), "Paris", { pace_ms: "3000" });
    const context = await browser.newContext();
    const page = await context.newPage();
    const tasks = new TasksPage(page, stackValue("consoleUrl"));
    // A link with only the job id: the console asks every worker.
    await tasks.open(`/tasks?task=${taskId}`);
    await expect(tasks.detailState).toHaveAttribute("data-state", /pending|running/, {
      timeout: 15_000,
    });
    const progress = page.getByTestId("task-progress");
    const first = Number((await progress.textContent())?.replace("%", "") ?? "0");
    await expect
      .poll(async () => Number((await progress.textContent())?.replace("%", "") ?? "0"), {
        timeout: 30_000,
      })
      .toBeGreaterThan(first);
    await expect(page.getByTestId(`task-row-${taskId}`)).toBeVisible();
    await expect(tasks.detailState).toHaveAttribute("data-state", "succeeded", { timeout: 60_000 });
    await context.close();
  });

  test("filters the list by state", async ({ page }) => {
    const frontDoor = stackValue("frontDoor");
    const done = await startJobOverGrpc(frontDoor, "Rome");
    const cancelled = await startJobOverGrpc(frontDoor, "Oslo", { pace_ms: "5000" });
    expect(await cancelJobOverGrpc(frontDoor, cancelled)).toBe("CANCELLED");
    const tasks = new TasksPage(page, stackValue("consoleUrl"));
    await tasks.goto();
    const list = page.getByTestId("task-list");
    await expect(list.getByTestId(`task-row-${done}`)).toBeVisible({ timeout: 30_000 });

    await page.getByTestId("task-filter-state").selectOption("cancelled");
    await expect(page).toHaveURL(/state=cancelled/);
    await expect(list).toHaveAttribute("aria-busy", "false");
    await expect(list.getByTestId(`task-row-${cancelled}`)).toHaveAttribute(
      "data-state",
      "cancelled",
    );
    await expect(list.getByTestId(`task-row-${done}`)).toHaveCount(0);
    const states = await list
      .locator("a")
      .evaluateAll((rows) => rows.map((row) => row.getAttribute("data-state")));
    expect(new Set(states)).toEqual(new Set(["cancelled"]));
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
