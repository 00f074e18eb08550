#!/usr/bin/env node
// @ts-check
// `npm run build`: compiles every server (registry, routers, gateway, services, the `npm start`
// launcher and the container helpers) to dist/ as one ES module bundle per entry point, with
// source maps, for `node --enable-source-maps dist/…`. Dependencies stay in node_modules.
// `--if-stale` builds only when a bundled source, this script or package-lock.json changed since
// the last build (`npm start` and the stack's tests use it). Plain JavaScript on purpose: it runs
// before anything is compiled, without tsx.
import {
  closeSync,
  cpSync,
  existsSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const dist = join(root, "dist");
const infoFile = join(dist, "build-info.json");
/** Held while a build runs, so parallel test files and `npm start` never build over each other. */
const lockFile = join(root, ".dist.lock");
/** A lock older than this was left by a build that died. */
const staleLockMs = 120_000;

/** Entry points, relative to the repository; each becomes dist/<same path>.js. */
const entryPoints = [
  "registry/main.ts",
  "router/main.ts",
  "gateway/main.ts",
  "services/echo/main.ts",
  "services/weather/main.ts",
  "services/itinerary/main.ts",
  "services/nat-agent/main.ts",
  "scripts/start.ts",
  "deploy/agent-token-init.ts",
  "deploy/grpc-health-probe.ts",
];

/** Files read at run time next to the code that reads them (`new URL(…, import.meta.url)`). */
const assets = [["services/weather/data", "services/weather/data"]];

/** Inputs besides the bundled sources whose change calls for a new build. */
const buildInputs = ["scripts/build.mjs", "package-lock.json", "tsconfig.json"];

/** @returns {string | undefined} why a build is needed, or undefined when dist/ is up to date */
function staleReason() {
  if (!existsSync(infoFile)) return "no build yet";
  /** @type {{ inputs: string[]; entryPoints: string[] }} */
  const info = JSON.parse(readFileSync(infoFile, "utf8"));
  if (info.entryPoints.join() !== entryPoints.join()) return "the entry points changed";
  const built = statSync(infoFile).mtimeMs;
  for (const file of [...info.inputs, ...buildInputs, ...assets.map(([from]) => from)]) {
    const path = join(root, file);
    if (!existsSync(path)) return `${file} is gone`;
    if (statSync(path).mtimeMs > built) return `${file} changed`;
  }
  for (const entry of entryPoints) {
    if (!existsSync(join(dist, entry.replace(/\.ts$/, ".js")))) return `${entry} is not built`;
  }
  return undefined;
}

/** Waits for the build lock; returns a function that releases it. */
async function acquireLock() {
  for (;;) {
    try {
      closeSync(openSync(lockFile, "wx"));
      return () => rmSync(lockFile, { force: true });
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== "EEXIST") throw err;
      try {
        if (Date.now() - statSync(lockFile).mtimeMs > staleLockMs)
          rmSync(lockFile, { force: true });
      } catch {
        // Released meanwhile.
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Builds into a fresh folder and swaps it in: nobody ever sees a half-built dist/. */
async function compile() {
  const started = Date.now();
  const next = join(root, `.dist-next-${process.pid}`);
  rmSync(next, { recursive: true, force: true });
  // Loaded only when there is something to build: the up-to-date check stays quick.
  const { build } = await import("esbuild");
  const result = await build({
    absWorkingDir: root,
    entryPoints: entryPoints.map((entry) => ({ in: entry, out: entry.replace(/\.ts$/, "") })),
    outdir: next,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    sourcemap: "linked",
    sourcesContent: false,
    metafile: true,
    logLevel: "warning",
  });
  for (const [from, to] of assets) cpSync(join(root, from), join(next, to), { recursive: true });
  const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  // Marks dist/ as ES modules on its own and gives the gateway its version ("../package.json").
  const manifest = { name: "agent-platform-dist", version, private: true, type: "module" };
  writeFileSync(join(next, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith("node_modules/"));
  const info = { entryPoints, inputs };
  writeFileSync(join(next, "build-info.json"), `${JSON.stringify(info, null, 2)}\n`);
  const old = join(root, `.dist-old-${process.pid}`);
  if (existsSync(dist)) renameSync(dist, old);
  renameSync(next, dist);
  rmSync(old, { recursive: true, force: true });
  const ms = Date.now() - started;
  process.stdout.write(
    `build: ${entryPoints.length} entry points from ${inputs.length} sources to dist/ in ${ms} ms\n`,
  );
}

async function main() {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== "--if-stale");
  if (unknown.length > 0) {
    process.stderr.write(`build: unknown argument ${unknown.join(" ")} (only --if-stale)\n`);
    process.exit(2);
  }
  const release = await acquireLock();
  try {
    if (args.includes("--if-stale")) {
      const reason = staleReason();
      if (reason === undefined) return;
      process.stdout.write(`build: ${reason}, compiling the servers to dist/\n`);
    }
    await compile();
  } finally {
    release();
  }
}

main().catch((err) => {
  process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
