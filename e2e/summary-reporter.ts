// Ends a Playwright run with one plain "e2e: N passed, N failed" line that any log reader understands.
import type { FullResult, Reporter, TestCase, TestResult } from "@playwright/test/reporter";

export default class SummaryReporter implements Reporter {
  private readonly outcomes = new Map<string, TestResult["status"]>();

  onTestEnd(test: TestCase, result: TestResult): void {
    // The last attempt decides; retries are off, but a retried test must count once.
    this.outcomes.set(test.id, result.status);
  }

  onEnd(result: FullResult): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const status of this.outcomes.values()) {
      if (status === "passed") passed++;
      else if (status === "skipped") skipped++;
      else failed++;
    }
    // A run that never got to its tests (global setup failed) must not read as green.
    if (result.status !== "passed" && failed === 0) failed = 1;
    const tail = skipped > 0 ? `, ${skipped} skipped` : "";
    process.stdout.write(`\ne2e: ${passed} passed, ${failed} failed${tail}\n`);
  }

  printsToStdio(): boolean {
    return false;
  }
}
