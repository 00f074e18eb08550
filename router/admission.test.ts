import { afterEach, describe, expect, it, vi } from "vitest";
import { type AdmittedCall, createAdmission } from "./admission";

interface FakeCall extends AdmittedCall {
  outcome: "waiting" | "admitted" | { code: number; message: string; pushbackMs: number };
}

function call(deadlineAt: number | undefined): FakeCall {
  const c: FakeCall = {
    service: "agent-echo",
    startedAt: 0,
    deadlineAt,
    finished: false,
    candidates: ["a:1"],
    outcome: "waiting",
    admitted() {
      c.outcome = "admitted";
    },
    refused(code, message, pushbackMs) {
      c.outcome = { code, message, pushbackMs };
    },
  };
  return c;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("admission", () => {
  it("lets calls in up to the instance's limit, queues the next, and lets them in as calls end", () => {
    let clock = 0;
    const admission = createAdmission({ initialLimit: 2, minLimit: 1, now: () => clock });
    try {
      expect(admission.admit(call(undefined))).toBe("now");
      admission.started("agent-echo", "a:1", true);
      expect(admission.admit(call(undefined))).toBe("now");
      admission.started("agent-echo", "a:1", true);
      const waiting = call(undefined);
      expect(admission.admit(waiting)).toBe("queued");
      clock += 10;
      admission.ended("agent-echo", "a:1", 10);
      expect(waiting.outcome).toBe("admitted");
    } finally {
      admission.close();
    }
  });

  it("refuses at once, with pushback, a call that cannot start before its deadline", () => {
    let clock = 0;
    const admission = createAdmission({ initialLimit: 1, minLimit: 1, now: () => clock });
    try {
      admission.admit(call(undefined));
      admission.started("agent-echo", "a:1", true);
      // One call finished after 100 ms: this instance does about 10 calls a second.
      clock += 100;
      admission.ended("agent-echo", "a:1", 100);
      admission.admit(call(undefined));
      admission.started("agent-echo", "a:1", true);
      const queued = [call(clock + 10_000), call(clock + 10_000)];
      for (const c of queued) expect(admission.admit(c)).toBe("queued");
      const hopeless = call(clock + 150);
      expect(admission.admit(hopeless)).toBe("refused");
      expect(hopeless.outcome).toMatchObject({ code: 14 });
      const refusal = hopeless.outcome as { message: string; pushbackMs: number };
      expect(refusal.message).toContain("overloaded");
      expect(refusal.pushbackMs).toBeGreaterThanOrEqual(50);
    } finally {
      admission.close();
    }
  });

  it("judges by how long the calls in flight have been running, before any of them finished", () => {
    let clock = 0;
    const admission = createAdmission({ initialLimit: 1, minLimit: 1, now: () => clock });
    try {
      // Calls used to take 10 ms...
      admission.admit(call(undefined));
      admission.started("agent-echo", "a:1", true);
      clock += 10;
      admission.ended("agent-echo", "a:1", 10);
      // ...but the one in flight now has run for 500 ms and is not done.
      admission.admit(call(undefined));
      admission.started("agent-echo", "a:1", true);
      clock += 500;
      const next = call(clock + 800);
      expect(admission.admit(next)).toBe("queued");
      const after = call(clock + 800);
      expect(admission.admit(after)).toBe("refused");
      expect((after.outcome as { message: string }).message).toMatch(/start in about 1000 ms/);
    } finally {
      admission.close();
    }
  });

  it("refuses with a full-queue message once the queue holds maxQueue calls", () => {
    const admission = createAdmission({ initialLimit: 1, minLimit: 1, maxQueue: 1 });
    try {
      admission.admit(call(undefined));
      admission.started("agent-echo", "a:1", true);
      expect(admission.admit(call(undefined))).toBe("queued");
      const extra = call(undefined);
      expect(admission.admit(extra)).toBe("refused");
      expect((extra.outcome as { message: string }).message).toContain("queue here is full");
    } finally {
      admission.close();
    }
  });

  it("counts a call let in against the limit before its instance is picked", () => {
    // A burst arrives in one read: every call is admitted before any attempt starts.
    const admission = createAdmission({ initialLimit: 2, minLimit: 1 });
    try {
      const twoInstances = () => ({ ...call(undefined), candidates: ["a:1", "b:1"] });
      const decisions = Array.from({ length: 6 }, () => admission.admit(twoInstances()));
      expect(decisions).toEqual(["now", "now", "now", "now", "queued", "queued"]);
      // The first attempt takes the held place; a call that ended unstarted gives its place back.
      admission.started("agent-echo", "a:1", true);
      admission.released("agent-echo");
      expect(admission.queued("agent-echo")).toBe(1);
      admission.started("agent-echo", "b:1", true);
      // A retry's attempt holds no place of its own: it only counts on its instance.
      admission.started("agent-echo", "b:1", false);
      expect(admission.admit(twoInstances())).toBe("queued");
    } finally {
      admission.close();
    }
  });

  it("decides waiting calls once the calls running at the burst's start have finished, and never refuses one it kept", () => {
    vi.useFakeTimers();
    let clock = 0;
    const admission = createAdmission({ initialLimit: 1, minLimit: 1, now: () => clock });
    try {
      admission.admit(call(undefined));
      admission.started("agent-echo", "a:1", true);
      // A burst arrives before anything finished: no rate yet, so every call waits undecided.
      const burst = Array.from({ length: 5 }, () => call(350));
      for (const c of burst) expect(admission.admit(c)).toBe("queued");
      // The first call finishes after 100 ms: one call per 100 ms. The next goes in; of those
      // left, the two that start within their 250 ms are kept and the rest refused now.
      clock = 100;
      admission.ended("agent-echo", "a:1", 100);
      expect(
        burst.map((c) => (typeof c.outcome === "string" ? c.outcome : c.outcome.code)),
      ).toEqual(["admitted", "waiting", "waiting", 14, 14]);
      // Calls now take far longer: a kept call is not refused for overload after all...
      admission.started("agent-echo", "a:1", true);
      clock = 200;
      admission.ended("agent-echo", "a:1", 1000);
      expect(burst[1]?.outcome).toBe("admitted");
      vi.advanceTimersByTime(100);
      expect(burst[2]?.outcome).toBe("waiting");
      // ...only its own deadline ends it.
      clock = 351;
      vi.advanceTimersByTime(100);
      expect(burst[2]?.outcome).toMatchObject({ code: 4 });
    } finally {
      admission.close();
    }
  });

  it("measures a backend that finishes calls one at a time over a full turnover", () => {
    let clock = 0;
    // The breaker holds the instance at 4 calls at once, however its limit would adapt.
    const admission = createAdmission({ initialLimit: 4, maxInFlight: 4, now: () => clock });
    const outcomes = (calls: FakeCall[]) =>
      calls.map((c) => (typeof c.outcome === "string" ? c.outcome : c.outcome.code));
    try {
      for (let i = 0; i < 4; i++) {
        admission.admit(call(undefined));
        admission.started("agent-echo", "a:1", true);
      }
      const burst = Array.from({ length: 10 }, () => call(35));
      for (const c of burst) expect(admission.admit(c)).toBe("queued");
      // One call every 5 ms. The first to finish says little (it had no one ahead of it):
      // nothing is decided until the four running at the start have finished.
      for (let t = 5; t <= 20; t += 5) {
        clock = t;
        admission.ended("agent-echo", "a:1", t);
        admission.started("agent-echo", "a:1", true);
        if (t < 20) expect(outcomes(burst).filter((o) => o === 14)).toEqual([]);
      }
      // 4 calls in 20 ms: with 15 ms left, three more can start in time and the rest cannot.
      expect(outcomes(burst)).toEqual([
        ...Array(4).fill("admitted"),
        ...Array(3).fill("waiting"),
        ...Array(3).fill(14),
      ]);
    } finally {
      admission.close();
    }
  });

  it("reports the calls waiting per service and the limits of instances used lately", () => {
    let clock = 0;
    const admission = createAdmission({ initialLimit: 1, minLimit: 1, now: () => clock });
    try {
      admission.admit(call(undefined));
      admission.started("agent-echo", "a:1", true);
      admission.admit(call(undefined));
      expect(admission.state()).toEqual({
        queued: [{ service: "agent-echo", calls: 1 }],
        limits: [{ address: "a:1", limit: 1 }],
      });
      admission.ended("agent-echo", "a:1", 5);
      admission.started("agent-echo", "a:1", true);
      admission.ended("agent-echo", "a:1", 5);
      // Ten minutes without a call: the instance leaves the gauge.
      clock += 10 * 60_000 + 1;
      expect(admission.state()).toEqual({ queued: [], limits: [] });
    } finally {
      admission.close();
    }
  });
});
