// Browser tests of the console against the real local stack (started once in global setup).
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "e2e",
  testMatch: "**/*.spec.ts",
  forbidOnly: Boolean(process.env.CI),
  fullyParallel: false,
  workers: 1,
  retries: 0,
  // Stack start-up (and a console build when sources changed) happens in global setup.
  globalSetup: "./e2e/global-setup.ts",
  globalTimeout: 40 * 60_000,
  timeout: 90_000,
  expect: { timeout: 15_000 },
  outputDir: "e2e/artifacts/results",
  reporter: [["list"], ["./e2e/summary-reporter.ts"]],
  use: {
    viewport: { width: 1280, height: 800 },
    screenshot: "on",
    trace: "retain-on-failure",
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    },
  },
});
