import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  HealthStatus,
  ListServicesResponseSchema,
  type ServiceSummarySchema,
} from "../gen/agentplatform/v1/console_pb";
import { departedAtMs, emptyMemory, rememberView } from "./registry-memory";

function view(services: Array<{ name: string; ids: string[] }>) {
  return create(ListServicesResponseSchema, {
    services: services.map(
      (s): MessageInitShape<typeof ServiceSummarySchema> => ({
        name: s.name,
        kind: "agent",
        status: HealthStatus.PASSING,
        passingInstances: s.ids.length,
        instances: s.ids.map((id) => ({ instanceId: id, status: HealthStatus.PASSING })),
      }),
    ),
  });
}

describe("registry memory", () => {
  it("shows a service whose only instance deregistered as critical", () => {
    let state = rememberView(emptyMemory, view([{ name: "agent-echo", ids: ["echo-1"] }]), {
      nowMs: 1000,
    });
    state = rememberView(state.memory, view([]), { nowMs: 2000 });
    const echo = state.view.services.find((s) => s.name === "agent-echo");
    expect(echo?.status).toBe(HealthStatus.CRITICAL);
    expect(echo?.instances[0]?.status).toBe(HealthStatus.CRITICAL);
    expect(echo?.instances[0] && departedAtMs(echo.instances[0])).toBe(2000);
    expect(echo?.instances[0]?.checks[0]?.output).toMatch(/left the registry/);
  });

  it("forgets the departure once the same instance registers again", () => {
    let state = rememberView(emptyMemory, view([{ name: "agent-echo", ids: ["echo-1"] }]), {
      nowMs: 1000,
    });
    state = rememberView(state.memory, view([]), { nowMs: 2000 });
    state = rememberView(state.memory, view([{ name: "agent-echo", ids: ["echo-1"] }]), {
      nowMs: 3000,
    });
    const echo = state.view.services.find((s) => s.name === "agent-echo");
    expect(echo?.status).toBe(HealthStatus.PASSING);
    expect(echo?.instances).toHaveLength(1);
  });

  it("marks a service degraded when one of two instances left", () => {
    let state = rememberView(emptyMemory, view([{ name: "agent-echo", ids: ["a", "b"] }]), {
      nowMs: 0,
    });
    state = rememberView(state.memory, view([{ name: "agent-echo", ids: ["a"] }]), { nowMs: 10 });
    const echo = state.view.services[0];
    expect(echo?.status).toBe(HealthStatus.WARNING);
    expect(echo?.instances.map((i) => i.status)).toEqual([
      HealthStatus.PASSING,
      HealthStatus.CRITICAL,
    ]);
  });

  it("drops a departed instance after the retention time", () => {
    let state = rememberView(emptyMemory, view([{ name: "agent-echo", ids: ["a"] }]), {
      nowMs: 0,
    });
    state = rememberView(state.memory, view([]), { nowMs: 10, retainMs: 100 });
    state = rememberView(state.memory, view([]), { nowMs: 500, retainMs: 100 });
    expect(state.view.services).toHaveLength(0);
  });
});
