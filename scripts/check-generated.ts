// Fails when gen/ differs from what `npm run generate` would write from proto/.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), "gen-check-"));

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

try {
  const template = readFileSync(join(root, "proto/buf.gen.yaml"), "utf8").replace(
    "out: ../gen",
    `out: ${out}`,
  );
  const templatePath = join(out, "buf.gen.yaml");
  writeFileSync(templatePath, template);
  execFileSync(join(root, "node_modules/.bin/buf"), ["generate", "--template", templatePath], {
    cwd: join(root, "proto"),
    stdio: "inherit",
  });
  const fresh = listFiles(out)
    .filter((f) => f !== templatePath)
    .map((f) => relative(out, f))
    .sort();
  const committed = listFiles(join(root, "gen"))
    .map((f) => relative(join(root, "gen"), f))
    .sort();
  const stale = fresh.filter(
    (f) =>
      !committed.includes(f) ||
      readFileSync(join(out, f), "utf8") !== readFileSync(join(root, "gen", f), "utf8"),
  );
  const extra = committed.filter((f) => !fresh.includes(f));
  if (stale.length > 0 || extra.length > 0) {
    console.error("gen/ is stale: run `npm run generate` and commit the result.");
    for (const f of stale) console.error(`  differs or missing: gen/${f}`);
    for (const f of extra) console.error(`  not generated from proto/: gen/${f}`);
    process.exit(1);
  }
  console.log(`gen/ is up to date (${fresh.length} files).`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
