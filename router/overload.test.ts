// A burst past a backend's capacity: the router serves what can finish in time, in order, and
// refuses the rest at once with UNAVAILABLE and grpc-retry-pushback-ms instead of letting every
// call run late together.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFrontDoor } from "../gateway/front-door";
import {
  quietLogger,
  startTestRegistry,
  startTestRouter,
  type TestRegistry,
  waitRoutable,
} from "./test-support/cluster";
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

describe("a burst past capacity", () => {
  // Whether more calls complete than without it is a benchmark figure (docs/ROUTER.md); here,
  // what a caller sees of the refusals.
  it("is refused early with UNAVAILABLE and retry pushback, and the calls let in complete", async () => {
    const router = await startTestRouter(registry.consul, { register: false });
    try {
      await rawBurst(router.address, 20, 5000);
      const answers = await rawBurst(router.address, 1000, 3000);
      const refused = answers.filter((a) => a.pushbackMs !== undefined);
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) {
        expect(r.code).toBe(14);
        expect(r.pushbackMs).toBeGreaterThan(0);
        expect(r.message).toContain("overloaded");
      }
      // Every other call completed, or ran out of time waiting (DEADLINE_EXCEEDED): a call kept
      // can, if the machine slows after it was kept. Refused early, not timed out late: fewer
      // of those than refusals (without overload control, every call here ends so).
      const late = answers.filter((a) => a.code === 4);
      const others = answers.filter((a) => a.pushbackMs === undefined && a.code !== 4);
      expect(new Set(others.map((a) => a.code))).toEqual(new Set([0]));
      expect(late.length).toBeLessThan(refused.length);
      // The router's metrics count the refusals callers saw (a refusal that reached the caller
      // after its own timer shows there as DEADLINE_EXCEEDED), and when each was decided.
      const text = router.metrics.renderPrometheus();
      const counted = Number(
        /router_overload_refusals_total\{service="agent-echo"\} (\d+)/.exec(text)?.[1],
      );
      expect(counted).toBeGreaterThanOrEqual(refused.length);
      expect(counted).toBeLessThanOrEqual(refused.length + late.length);
      expect(text).toContain(`router_overload_refusal_wait_seconds_count ${counted}\n`);
    } finally {
      await router.close(0);
    }
  }, 60_000);

  it("keeps the router's retry advice when the front door relays the refusal", async () => {
    const router = await startTestRouter(registry.consul);
    const frontDoor = await startFrontDoor({
      consul: registry.consul,
      logger: quietLogger,
      watch: { maxBackoffMs: 300, wait: "5s" },
    });
    try {
      await waitRoutable(frontDoor.address);
      await rawBurst(frontDoor.address, 20, 5000);
      const answers = await rawBurst(frontDoor.address, 1000, 3000);
      const refused = answers.filter((a) => a.code === 14 && a.message.includes("overloaded"));
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused) expect(r.pushbackMs).toBeGreaterThan(0);
    } finally {
      await frontDoor.close(0);
      await router.close(0);
    }
  }, 60_000);
});
