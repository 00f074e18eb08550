import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CheckTransitionSchema, HealthStatus } from "../gen/agentplatform/v1/console_pb";
import { timelineSegments } from "./status-timeline";

const t = (atMs: number, status: HealthStatus) =>
  create(CheckTransitionSchema, { atMs: BigInt(atMs), status });

describe("status timeline", () => {
  it("shows a flapping check as alternating segments across the window", () => {
    const history = [
      t(0, HealthStatus.PASSING),
      t(100, HealthStatus.CRITICAL),
      t(150, HealthStatus.PASSING),
      t(170, HealthStatus.CRITICAL),
    ];
    expect(timelineSegments(history, 50, 200)).toEqual([
      { fromMs: 50, toMs: 100, status: HealthStatus.PASSING },
      { fromMs: 100, toMs: 150, status: HealthStatus.CRITICAL },
      { fromMs: 150, toMs: 170, status: HealthStatus.PASSING },
      { fromMs: 170, toMs: 200, status: HealthStatus.CRITICAL },
    ]);
  });

  it("leaves the time before the first known status unknown", () => {
    expect(timelineSegments([t(100, HealthStatus.PASSING)], 0, 200)).toEqual([
      { fromMs: 0, toMs: 100, status: HealthStatus.UNSPECIFIED },
      { fromMs: 100, toMs: 200, status: HealthStatus.PASSING },
    ]);
  });
});
