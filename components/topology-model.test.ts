import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  HealthStatus,
  RouterViewSchema,
  ServiceSummarySchema,
} from "../gen/agentplatform/v1/console_pb";
import { buildTopology } from "./topology-model";

const service = create(ServiceSummarySchema, {
  name: "agent-echo",
  kind: "agent",
  status: HealthStatus.PASSING,
  instances: [
    { instanceId: "echo-1", address: "127.0.0.1", port: 1, status: HealthStatus.PASSING },
    { instanceId: "echo-2", address: "127.0.0.1", port: 2, status: HealthStatus.CRITICAL },
  ],
});
const router = (id: string, rps: number, errors: number) =>
  create(RouterViewSchema, {
    instance: { instanceId: id, status: HealthStatus.PASSING },
    stats: {
      routerId: id,
      total: { requestsPerSecond: rps, errorsPerSecond: errors },
      backends: [
        {
          service: "agent-echo",
          address: "127.0.0.1:1",
          window: { requestsPerSecond: rps, errorsPerSecond: errors },
        },
      ],
    },
  });

describe("topology model", () => {
  it("sums router backends into service and instance traffic, and keeps idle instances", () => {
    const t = buildTopology([service], [router("r1", 10, 1), router("r2", 5, 0)]);
    const node = (id: string) => t.nodes.find((n) => n.id === id);
    expect(node("gateway")?.rps).toBe(15);
    expect(node("service:agent-echo")?.rps).toBe(15);
    expect(node("service:agent-echo")?.errorsPerSecond).toBe(1);
    expect(node("instance:echo-1")?.rps).toBe(15);
    expect(node("instance:echo-2")?.rps).toBe(0);
    expect(node("instance:echo-2")?.status).toBe(HealthStatus.CRITICAL);
    expect(t.edges.find((e) => e.from === "router:r1" && e.to === "service:agent-echo")?.rps).toBe(
      10,
    );
  });

  it("gives every node of the fullest column its own row", () => {
    const many = Array.from({ length: 20 }, (_, i) =>
      create(ServiceSummarySchema, { name: `tool-${i}`, kind: "tool", instances: [] }),
    );
    const t = buildTopology(many, [], { rowHeight: 34 });
    const ys = t.nodes.filter((n) => n.kind === "service").map((n) => n.y);
    const gaps = ys.slice(1).map((y, i) => y - (ys[i] ?? 0));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(32);
  });
});
