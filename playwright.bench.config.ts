// `npm run bench:console`: the console's speed under load, measured (never asserted) against the
// real local stack, started once in the same global setup as the browser tests.
import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

export default defineConfig({
  ...base,
  testDir: "bench/console",
  testMatch: "**/*.bench.ts",
  outputDir: "e2e/artifacts/bench-results",
  reporter: [["list"]],
  use: { ...base.use, screenshot: "off", trace: "off" },
});
