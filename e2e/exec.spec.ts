import { execFileSync } from "node:child_process";
import { expect, type Page, test } from "@playwright/test";
import { AuditPage } from "./pages/audit-page";
import { RunPage } from "./pages/run-page";
import { stackValue } from "./stack-env";

/** Processes on this machine whose command line is exactly `line` (the stack runs here). */
function processesRunning(line: string): number[] {
  try {
    return execFileSync("pgrep", ["-fx", line], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

async function runCommand(page: Page, command: string): Promise<void> {
  const terminal = page.getByTestId("exec-terminal");
  await terminal.getByTestId("exec-agent").selectOption("nat-agent");
  await terminal.getByTestId("exec-command").fill(command);
  await terminal.getByTestId("exec-run").click();
}

test.describe("exec on a dial-in agent", () => {
  test("runs uname -a on nat-agent and shows its output and exit code", async ({ page }) => {
    const run = new RunPage(page, stackValue("consoleUrl"));
    await run.goto();
    await runCommand(page, "uname -a");
    await expect(page.getByTestId("exec-badge")).toHaveAttribute("data-state", "exit 0");
    await expect(page.getByTestId("exec-output")).toContainText("Linux");
    await expect(page.getByTestId("exec-line").first()).toHaveAttribute("data-stream", "stdout");
    await page.getByTestId("exec-terminal").screenshot({ path: "e2e/artifacts/exec-uname.png" });
    // The audit log says who ran what, on which agent, and how it ended.
    const audit = new AuditPage(page, stackValue("consoleUrl"));
    await audit.goto();
    await expect(
      audit.rows
        .filter({ hasText: "ExecService/Exec" })
        .filter({ hasText: "uname -a → exit 0" })
        .first(),
    ).toContainText("nat-agent");
  });

  test("streams a long command live and cancel stops its process", async ({ page }) => {
    const run = new RunPage(page, stackValue("consoleUrl"));
    await run.goto();
    await runCommand(page, "vmstat 1 60");
    // Lines arrive while the command runs: the header and at least two samples.
    await expect
      .poll(async () => Number(await page.getByTestId("exec-output").getAttribute("data-count")), {
        timeout: 15_000,
      })
      .toBeGreaterThanOrEqual(4);
    await expect(page.getByTestId("exec-badge")).toHaveAttribute("data-state", "running");
    expect(processesRunning("vmstat 1 60")).not.toEqual([]);
    await page.getByTestId("exec-terminal").screenshot({ path: "e2e/artifacts/exec-running.png" });
    await page.getByTestId("exec-cancel").click();
    await expect(page.getByTestId("exec-badge")).toHaveAttribute("data-state", "CANCELLED");
    await expect.poll(() => processesRunning("vmstat 1 60"), { timeout: 10_000 }).toEqual([]);
  });

  test("a command outside the allowlist is refused, naming the rule", async ({ page }) => {
    const run = new RunPage(page, stackValue("consoleUrl"));
    await run.goto();
    await runCommand(page, "cat /etc/passwd");
    await expect(page.getByTestId("exec-badge")).toHaveAttribute("data-state", "PERMISSION_DENIED");
    await expect(page.getByTestId("exec-error")).toContainText("commands rule");
    await page.getByTestId("exec-terminal").screenshot({ path: "e2e/artifacts/exec-refused.png" });
  });
});
