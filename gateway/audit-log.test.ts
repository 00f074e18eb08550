import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Role } from "../gen/agentplatform/v1/console_pb";
import { createLogger } from "../platform/log";
import { createAuditLog } from "./audit-log";

const logger = createLogger("test", { level: "error" });
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "audit-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const entry = (atMs: number, method = "/agentplatform.v1.AgentService/ExecuteTask") => ({
  atMs: BigInt(atMs),
  subject: "ops",
  role: Role.OPERATOR,
  method,
  target: "echo-agent",
  code: "OK",
  durationMs: 1,
  peer: "127.0.0.1",
});

describe("audit log", () => {
  it("pages newest first by id and filters by time range", () => {
    const log = createAuditLog({ logger, now: () => 10_000 });
    for (let i = 0; i < 25; i++) log.record(entry(1000 + i * 100));
    const first = log.list({ limit: 10 });
    expect(first.entries.map((e) => Number(e.atMs))).toEqual(
      Array.from({ length: 10 }, (_, i) => 3400 - i * 100),
    );
    const second = log.list({ limit: 10, beforeId: first.nextBeforeId });
    expect(Number(second.entries[0]?.atMs)).toBe(2400);
    const third = log.list({ limit: 10, beforeId: second.nextBeforeId });
    expect(third.entries).toHaveLength(5);
    expect(third.nextBeforeId).toBe(0n);

    const window = log.list({ fromMs: 2000, toMs: 2500 });
    expect(window.entries.map((e) => Number(e.atMs))).toEqual([2400, 2300, 2200, 2100, 2000]);
  });

  it("drops entries past the count and the age bound", () => {
    let now = 0;
    const log = createAuditLog({ logger, maxEntries: 5, maxAgeMs: 1000, now: () => now });
    for (let i = 0; i < 8; i++) log.record(entry(i * 10));
    expect(log.list().kept).toBe(5);
    expect(Number(log.list().oldestKeptMs)).toBe(30);
    now = 1035;
    expect(log.list().entries.map((e) => Number(e.atMs))).toEqual([70, 60, 50, 40]);
  });

  it("redacts credentials in metadata, and keeps every field across a restart", async () => {
    const path = join(tempDir(), "audit.log");
    const log = createAuditLog({ logger, path });
    log.record({
      ...entry(Date.now()),
      category: "run",
      router: "router-1",
      message: "",
      metadata: { authorization: "Bearer sekrit", "x-api-key": "k", "x-trace": "abc" },
    });
    await log.close();
    expect(readFileSync(path, "utf8")).not.toContain("sekrit");
    const again = createAuditLog({ logger, path });
    const [e] = again.list().entries;
    expect(e?.metadata).toEqual({
      authorization: "[redacted]",
      "x-api-key": "[redacted]",
      "x-trace": "abc",
    });
    expect(e?.router).toBe("router-1");
    expect(e?.category).toBe("run");
    await again.close();
  });

  it("rotates the file past its size bound and rereads both files at start", async () => {
    const path = join(tempDir(), "audit.log");
    const log = createAuditLog({ logger, path, maxFileBytes: 2000 });
    for (let i = 0; i < 20; i++) log.record(entry(Date.now() + i));
    await log.close();
    expect(statSync(path).size).toBeLessThanOrEqual(2000);
    expect(statSync(`${path}.1`).size).toBeLessThanOrEqual(2000);
    const again = createAuditLog({ logger, path, maxFileBytes: 2000 });
    expect(again.list().kept).toBeGreaterThan(5);
    expect(again.list().kept).toBeLessThanOrEqual(20);
    await again.close();
  });
});
