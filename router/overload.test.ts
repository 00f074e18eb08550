// A burst past a backend's capacity: the router serves what can finish in time, in order, and
// refuses the rest at once with UNAVAILABLE and grpc-retry-pushback-ms instead of letting every
// call run late together.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Router } from "./router";
import { startTestRegistry, startTestRouter, type TestRegistry } from "./test-support/cluster";
import { type EchoBackend, startEchoBackend } from "./test-support/echo-backend";
import { rawBurst } from "./test-support/raw-burst";

let registry: TestRegistry;
let backend: EchoBackend;

beforeAll(async () => {
  registry = await startTestRegistry();
  // 200 calls per second at most, one at a time.
  backend = await startEchoBackend({ consul: registry.consul, serialMs: 5 });
});

afterAll(async () => {
  await backend?.stop("hard");
  await registry?.registry.close();
});

async function burstThrough(router: Router) {
  // Warm up: the connection to the backend and the router's view of it.
  await rawBurst(router.address, 20, 5000);
  return rawBurst(router.address, 1000, 1000);
}

describe("a burst past capacity", () => {
  it("is refused early with UNAVAILABLE and retry pushback while more calls complete than without", async () => {
    const controlled = await startTestRouter(registry.consul);
    const uncontrolled = await startTestRouter(registry.consul, {
      admission: false,
      register: false,
    });
    try {
      const on = await burstThrough(controlled);
      const off = await burstThrough(uncontrolled);
      const ok = (answers: typeof on) => answers.filter((a) => a.code === 0).length;
      const refused = on.filter((a) => a.pushbackMs !== undefined);
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) {
        expect(r.code).toBe(14);
        expect(r.pushbackMs).toBeGreaterThan(0);
        expect(r.message).toContain("overloaded");
      }
      // Each refusal came before the caller's own timer ended the call (which would read
      // DEADLINE_EXCEEDED here): refused early, not timed out late.
      expect(ok(on)).toBeGreaterThan(ok(off));
    } finally {
      await controlled.close(0);
      await uncontrolled.close(0);
    }
  }, 60_000);
});
