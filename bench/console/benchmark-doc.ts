// Writes the console's measurements into docs/BENCHMARKS.md, replacing only its own section.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const heading = "## Console";
const docPath = join(import.meta.dirname, "..", "..", "docs", "BENCHMARKS.md");

/** Replaces the "## Console" section (up to the next "## " heading) or appends it. */
export function replaceSection(document: string, section: string): string {
  const body = `${heading}\n\n${section.trim()}\n`;
  const start = document.indexOf(`\n${heading}\n`);
  const atTop = document.startsWith(`${heading}\n`);
  if (start === -1 && !atTop) {
    const base = document.trimEnd();
    return base === "" ? `# Benchmarks\n\n${body}` : `${base}\n\n${body}`;
  }
  const from = atTop ? 0 : start + 1;
  const next = document.indexOf("\n## ", from + heading.length);
  const rest = next === -1 ? "" : document.slice(next + 1);
  return `${document.slice(0, from)}${body}${rest === "" ? "" : `\n${rest}`}`;
}

export function writeConsoleBenchmarks(section: string): void {
  const current = existsSync(docPath) ? readFileSync(docPath, "utf8") : "";
  writeFileSync(docPath, replaceSection(current, section));
}
