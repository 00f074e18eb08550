import { execFile } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { RunPage } from "./pages/run-page";
import { stackValue } from "./stack-env";

/** Runs a copied command line from a directory with no proto/ in it. */
function runInTmp(command: string): Promise<string> {
  const bin = join(import.meta.dirname, "..", "node_modules", ".bin");
  return new Promise((resolve, reject) => {
    execFile(
      "sh",
      ["-c", command],
      {
        cwd: tmpdir(),
        timeout: 20_000,
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

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
    // Focus goes back to Run, not to the page body.
    await expect(run.runButton).toBeFocused();
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

  test("Escape cancels a running call; one announcement per state, none per message", async ({
    page,
  }) => {
    const run = new RunPage(page, stackValue("consoleUrl"));
    await run.goto(
      "?target=echo-agent&kind=agent&method=/agentplatform.v1.AgentService/StreamTask",
    );
    await run.fillInput(Array.from({ length: 40 }, (_, i) => `w${i}`).join(" "));
    await run.addParameter("delay_ms", "200");
    // Count every change to a live region's text while the stream runs.
    await page.evaluate(() => {
      const w = window as unknown as { liveChanges: string[] };
      w.liveChanges = [];
      new MutationObserver((records) => {
        for (const r of records) {
          const region = (r.target instanceof Element ? r.target : r.target.parentElement)?.closest(
            "[aria-live],[role=status],[role=alert],[role=log]",
          );
          if (region && region.getAttribute("data-testid") !== "loading") {
            w.liveChanges.push(region.textContent ?? "");
          }
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await run.run();
    await expect.poll(() => run.messageCount(), { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    await page.keyboard.press("Escape");
    await expect(run.resultCode).toHaveAttribute("data-code", "CANCELLED");
    await expect(run.runButton).toBeFocused();
    await expect(page.getByTestId("run-announcement")).toHaveText("StreamTask cancelled.");
    const changes = await page.evaluate(
      () => (window as unknown as { liveChanges: string[] }).liveChanges,
    );
    // "Running StreamTask." then "StreamTask cancelled.", not one per streamed message.
    expect(new Set(changes.filter((c) => c !== ""))).toEqual(
      new Set(["Running StreamTask.", "StreamTask cancelled."]),
    );
  });

  test("at phone width the result follows Run and nothing is cut off", async ({ page }) => {
    await page.setViewportSize({ width: 390, height: 844 });
    const run = new RunPage(page, stackValue("consoleUrl"));
    await run.goto("?target=echo-agent&kind=agent");
    await run.chooseMethod("ExecuteTask");
    await run.fillInput("phone");
    await run.run();
    await expect(run.resultCode).toHaveAttribute("data-code", "OK");
    const runBox = await run.runButton.boundingBox();
    const resultBox = await page.getByTestId("run-result").boundingBox();
    const copyBox = await page.getByTestId("copy-as-command").boundingBox();
    expect(resultBox?.y ?? 0).toBeGreaterThan(runBox?.y ?? 0);
    expect(resultBox?.y ?? 0).toBeLessThan(copyBox?.y ?? 0);
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
  });

  test("metadata the gateway would refuse disables Run with the gateway's reason", async ({
    page,
  }) => {
    const run = new RunPage(page, stackValue("consoleUrl"));
    await run.goto("?target=echo-agent&kind=agent");
    await run.chooseMethod("ExecuteTask");
    await run.fillInput("x");
    await page.getByRole("button", { name: "Add metadata" }).click();
    await page.getByLabel("Metadata key 1").fill("grpc-timeout");
    await page.getByLabel("Metadata value 1").fill("1S");
    await expect(run.runButton).toBeDisabled();
    await expect(page.getByTestId("run-blocked")).toContainText(
      'metadata key "grpc-timeout" is set by the protocol and cannot be sent as metadata',
    );
    await page.getByLabel("Metadata key 1").fill("x-fine");
    await expect(run.runButton).toBeEnabled();
  });

  test("copied grpcurl and buf curl use reflection and keep the deadline", async ({ page }) => {
    const run = new RunPage(page, stackValue("consoleUrl"));
    await run.goto("?target=echo-agent&kind=agent");
    await run.chooseMethod("ExecuteTask");
    await run.fillInput("copied");
    await page.getByTestId("run-deadline").fill("1500");
    await page.getByTestId("copy-as-buf").click();
    const buf = (await page.getByTestId("copy-as-command").textContent()) ?? "";
    expect(buf).toContain("--timeout 1500ms");
    expect(buf).not.toContain("--schema");
    await page.getByTestId("copy-as-grpcurl").click();
    const grpcurl = (await page.getByTestId("copy-as-command").textContent()) ?? "";
    expect(grpcurl).toContain("-max-time 1.5");
    expect(grpcurl).not.toContain("-proto");
    // buf curl, pasted in a directory without the repository, answers through the front door.
    const out = await runInTmp(buf);
    expect(JSON.parse(out).output).toBe("Echo: copied");
  });

  test("tool operations are choices, JSON in strings is readable, target and id agree", async ({
    page,
  }) => {
    const run = new RunPage(page, stackValue("consoleUrl"));
    await run.goto("?target=weather-tool&kind=tool");
    await run.chooseMethod("ExecuteTool");
    const operation = page.getByTestId("field-operation");
    await expect(operation.locator("option")).toContainText(["current", "forecast", "cities"]);
    await operation.selectOption("cities");
    await run.run();
    await expect(run.resultCode).toHaveAttribute("data-code", "OK");
    const embedded = page.getByTestId("embedded-json-outputJson");
    await expect(embedded).toBeVisible();
    // Pretty-printed: one value a line, no escaped quotes.
    await expect(embedded.locator("pre")).not.toContainText('\\"');
    expect(
      ((await embedded.locator("pre").textContent()) ?? "").split("\n").length,
    ).toBeGreaterThan(3);
    await embedded.locator("summary").click();
    await expect(embedded.locator("pre")).toBeHidden();

    // Editing the id field moves the Target; choosing a Target fills the field.
    await page.getByTestId("field-tool_id").fill("no-such-tool");
    await expect(page.getByTestId("run-target")).toHaveValue("no-such-tool");
    await run.chooseTarget("weather-tool");
    await expect(page.getByTestId("field-tool_id")).toHaveValue("weather-tool");
  });

  test("stream times read as durations since the call started", async ({ page }) => {
    const run = new RunPage(page, stackValue("consoleUrl"));
    await run.goto("?target=echo-agent&kind=agent");
    await run.chooseMethod("StreamTask");
    await run.fillInput("a b c");
    await run.run();
    await expect(run.resultCode).toHaveAttribute("data-code", "OK");
    await expect(page.getByTestId("message-row").first().locator(".at")).toHaveText(
      /^\+\d+(\.\d+)? (µs|ms|s)$/,
    );
  });
});
