import { describe, expect, it } from "vitest";
import { createBalancer } from "./balancer";

const addresses = ["10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", "10.0.0.4:1"];

describe("outlier ejection", () => {
  it("never takes more than maxEjectionPercent of a service's instances out of rotation", () => {
    let clock = 0;
    const ejected: string[] = [];
    const balancer = createBalancer({
      failuresToEject: 1,
      maxEjectionPercent: 50,
      now: () => clock,
      onEject: (_service, address) => ejected.push(address),
    });
    expect(balancer.pickAddress("svc", addresses, [])).toBeDefined();
    for (const address of addresses) {
      balancer.started(address);
      balancer.finished("svc", address, "transport");
    }
    // Two of four (50%) are out; the other two keep serving.
    expect(ejected).toEqual(addresses.slice(0, 2));
    const picks = new Set<string>();
    for (let i = 0; i < 50; i++) picks.add(balancer.pickAddress("svc", addresses, []) ?? "");
    expect([...picks].sort()).toEqual(addresses.slice(2));
    // Once the first ejections end, the others may go in turn.
    clock += 1001;
    balancer.finished("svc", addresses[2] as string, "transport");
    expect(ejected).toContain(addresses[2]);
  });

  it("always allows one ejection, even when the share would round to none", () => {
    const balancer = createBalancer({ failuresToEject: 1, maxEjectionPercent: 10 });
    balancer.pickAddress("svc", addresses.slice(0, 3), []);
    balancer.finished("svc", addresses[0] as string, "transport");
    balancer.finished("svc", addresses[1] as string, "transport");
    expect(balancer.isEjected(addresses[0] as string)).toBe(true);
    expect(balancer.isEjected(addresses[1] as string)).toBe(false);
  });

  it("ejects an instance reported unresponsive (PING or connect timeout) at once", () => {
    const balancer = createBalancer();
    balancer.pickAddress("svc", addresses, []);
    balancer.started(addresses[0] as string);
    balancer.finished("svc", addresses[0] as string, "ok");
    balancer.unresponsive(addresses[0] as string);
    expect(balancer.isEjected(addresses[0] as string)).toBe(true);
    expect(balancer.pickAddress("svc", addresses, [])).not.toBe(addresses[0]);
  });
});
