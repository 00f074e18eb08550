import { describe, expect, it } from "vitest";
import { type AdmittedCall, createAdmission } from "./admission";

interface FakeCall extends AdmittedCall {
  outcome: "waiting" | "admitted" | { code: number; message: string; pushbackMs: number };
}

function call(deadlineAt: number | undefined): FakeCall {
  const c: FakeCall = {
    service: "agent-echo",
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

describe("admission", () => {
  it("lets calls in up to the instance's limit, queues the next, and lets them in as calls end", () => {
    let clock = 0;
    const admission = createAdmission({ initialLimit: 2, minLimit: 1, now: () => clock });
    try {
      expect(admission.admit(call(undefined))).toBe("now");
      admission.started("a:1");
      expect(admission.admit(call(undefined))).toBe("now");
      admission.started("a:1");
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
      admission.started("a:1");
      // One call finished after 100 ms: this instance does about 10 calls a second.
      clock += 100;
      admission.ended("agent-echo", "a:1", 100);
      admission.admit(call(undefined));
      admission.started("a:1");
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

  it("refuses with a full-queue message once the queue holds maxQueue calls", () => {
    const admission = createAdmission({ initialLimit: 1, minLimit: 1, maxQueue: 1 });
    try {
      admission.admit(call(undefined));
      admission.started("a:1");
      expect(admission.admit(call(undefined))).toBe("queued");
      const extra = call(undefined);
      expect(admission.admit(extra)).toBe("refused");
      expect((extra.outcome as { message: string }).message).toContain("queue here is full");
    } finally {
      admission.close();
    }
  });
});
