import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "{platform,registry,router,services,gateway,components,app,scripts,proto,bench,deploy}/**/*.test.{ts,tsx}",
    ],
    // Integration tests start real servers; give them room on a loaded 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
    reporters: ["default", "./scripts/summary-reporter.ts"],
  },
});
