// `npm run bench:console [-- --write-doc]`: runs the console benchmark (playwright.bench.config.ts)
// against a freshly started stack and prints its figures as a table. With --write-doc the table
// also replaces the "## Console" section of docs/BENCHMARKS.md; without it no tracked file changes.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { writeConsoleBenchmarks } from "./benchmark-doc";
import { type ConsoleResults, consoleResultsFile, formatConsoleResults } from "./console-results";

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== "--write-doc");
if (unknown.length > 0) {
  process.stderr.write(`bench:console: unknown argument ${unknown.join(" ")} (only --write-doc)\n`);
  process.exit(2);
}
const root = new URL("../..", import.meta.url).pathname;
const playwright = createRequire(import.meta.url).resolve("@playwright/test/cli");
rmSync(consoleResultsFile, { force: true });
const run = spawnSync(
  process.execPath,
  [playwright, "test", "--config", "playwright.bench.config.ts"],
  { cwd: root, stdio: "inherit" },
);
if (!existsSync(consoleResultsFile)) {
  process.stderr.write("bench:console: the benchmark recorded no figures\n");
  process.exit(run.status || 1);
}
const results = JSON.parse(readFileSync(consoleResultsFile, "utf8")) as ConsoleResults;
const table = formatConsoleResults(results);
process.stdout.write(`\n${table}\n`);
if (args.includes("--write-doc")) {
  writeConsoleBenchmarks(table);
  process.stdout.write("written to docs/BENCHMARKS.md (## Console)\n");
}
process.exit(run.status ?? 1);
