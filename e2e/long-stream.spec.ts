// A long stream on the Run page: every message arrives, in order, in a list that keeps only the
// visible rows in the document, and the page keeps answering the operator meanwhile. How fast it
// renders is measured by `npm run bench:console`, not asserted here.
import { expect, test } from "@playwright/test";
import { RunPage } from "./pages/run-page";
import { stackValue } from "./stack-env";

const total = 10_000;
const rowHeight = 32;

test("10,000 streamed messages arrive in order and the page still answers", async ({ page }) => {
  test.setTimeout(300_000);
  const run = new RunPage(page, stackValue("consoleUrl"));
  await run.goto("?target=echo-agent&kind=agent&method=/agentplatform.v1.AgentService/StreamTask");
  // The echo agent streams one message per word ("m0" … "m9998"), then the final message.
  const words = Array.from({ length: total - 1 }, (_, i) => `m${i}`).join(" ");
  await run.setRequestJson({ agentId: "echo-agent", input: words, parameters: { delay_ms: "0" } });
  await page.getByTestId("run-deadline").fill("240000");
  await run.run();

  // The page answers input while the stream runs: scrolling up stops following the tail and
  // offers a way back, which works.
  await expect.poll(() => run.messageCount(), { timeout: 120_000 }).toBeGreaterThan(100);
  await run.messageList.evaluate((el) => {
    el.scrollTop = 0;
  });
  const jump = page.getByRole("button", { name: "Jump to latest" });
  await expect(jump).toBeVisible();
  await jump.click();
  await expect(jump).toBeHidden();

  await expect(run.resultCode).toHaveAttribute("data-code", "OK", { timeout: 240_000 });
  expect(await run.messageCount()).toBe(total);
  // Only the visible rows exist in the document.
  expect(await page.getByTestId("message-row").count()).toBeLessThan(80);

  // In order: wherever the list is scrolled, row #i carries word i.
  for (const index of [0, 1234, 5000, 8765, total - 2]) {
    await run.messageList.evaluate((el, top) => {
      el.scrollTop = top;
    }, index * rowHeight);
    const row = page
      .getByTestId("message-row")
      .filter({ has: page.locator(".index", { hasText: new RegExp(`^#${index}$`) }) });
    await expect(row).toContainText(`m${index}`);
  }
  await run.messageList.evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
  await expect(page.getByTestId("message-row").last()).toContainText(`#${total - 1}`);
  await expect(page.getByTestId("message-row").last()).toContainText("done");
});
