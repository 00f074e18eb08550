import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;

describe("gen/", () => {
  it("matches what `npm run generate` writes from proto/", () => {
    const run = () =>
      execFileSync(process.execPath, ["--import", "tsx", "scripts/check-generated.ts"], {
        cwd: root,
        encoding: "utf8",
        stdio: "pipe",
      });
    expect(run()).toContain("gen/ is up to date");
  });
});
