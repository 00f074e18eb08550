import { expect, test } from "@playwright/test";
import { RunPage } from "./pages/run-page";
import { stackValue } from "./stack-env";

test.describe("run", () => {
  test("runs echo-agent ExecuteTask and shows its answer", async ({ page }) => {
    const run = new RunPage(page, stackValue("consoleUrl"));
    await run.goto();
    await run.chooseTarget("echo-agent");
    await run.chooseMethod("ExecuteTask");
    await run.fillInput("Hello, World!");
    await run.run();
    await expect(run.resultCode).toHaveAttribute("data-code", "OK");
    await expect(run.response).toContainText("Echo: Hello, World!");
    await expect(page.getByTestId("history-item").first()).toContainText("ExecuteTask");
    // The same call as a command line, against this stack's gateway.
    await expect(page.getByTestId("copy-as-command")).toContainText(
      `${stackValue("gatewayUrl")}/agentplatform.v1.AgentService/ExecuteTask`,
    );
  });

  test("shows streamed messages before the stream ends", async ({ page }) => {
    const run = new RunPage(page, stackValue("consoleUrl"));
    await run.goto("?target=echo-agent&kind=agent");
    await run.chooseMethod("StreamTask");
    await run.fillInput("one two three four five six seven eight");
    await run.addParameter("delay_ms", "400");
    await run.run();
    // At least two messages while the call is still running.
    await expect.poll(() => run.messageCount(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await expect(run.resultCode).toHaveAttribute("data-code", "");
    await expect(run.resultCode).toHaveAttribute("data-code", "OK", { timeout: 15_000 });
    expect(await run.messageCount()).toBe(9);
    await expect(run.messageList).toContainText("Echo: one two three");
  });

  test("cancels a running stream", async ({ page }) => {
    const run = new RunPage(page, stackValue("consoleUrl"));
    await run.goto(
      "?target=echo-agent&kind=agent&method=/agentplatform.v1.AgentService/StreamTask",
    );
    await run.fillInput(Array.from({ length: 40 }, (_, i) => `w${i}`).join(" "));
    await run.addParameter("delay_ms", "300");
    await run.run();
    await expect.poll(() => run.messageCount(), { timeout: 10_000 }).toBeGreaterThanOrEqual(1);
    await run.cancelButton.click();
    await expect(run.resultCode).toHaveAttribute("data-code", "CANCELLED");
    const countAtCancel = await run.messageCount();
    expect(countAtCancel).toBeLessThan(41);
    // Nothing arrives after the cancel.
    await page.waitForTimeout(1000);
    expect(await run.messageCount()).toBe(countAtCancel);
  });

  test("explains a request the target rejects", async ({ page }) => {
    const run = new RunPage(page, stackValue("consoleUrl"));
    await run.goto(
      "?target=echo-agent&kind=agent&method=/agentplatform.v1.AgentService/StreamTask",
    );
    await run.setRequestJson({
      agentId: "echo-agent",
      input: "x",
      parameters: { delay_ms: "soon" },
    });
    await run.run();
    await expect(run.resultCode).toHaveAttribute("data-code", "INVALID_ARGUMENT");
    await expect(page.getByTestId("result-message")).toContainText("delay_ms");
  });
});
