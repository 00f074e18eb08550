// The router's metrics in one object: the call recorder the forwarding path feeds, plus the two
// ways of reading it (RouterStats for RouterAdmin, Prometheus text for /metrics).
import type { RouterStats } from "../../gen/agentplatform/v1/router_admin_pb";
import { type CallRecorder, type CallRecorderOptions, createCallRecorder } from "./call-recorder";
import { renderRouterMetrics } from "./router-exposition";
import { routerStatsSnapshot } from "./router-stats";

export interface RouterMetrics extends CallRecorder {
  /** Statistics over the last `windowSeconds` complete seconds (default 1), identity fields empty. */
  snapshot(windowSeconds?: number): RouterStats;
  /** Prometheus text exposition, format 0.0.4. */
  renderPrometheus(): string;
}

export function createRouterMetrics(options: CallRecorderOptions = {}): RouterMetrics {
  const recorder = createCallRecorder(options);
  return {
    ...recorder,
    snapshot: (windowSeconds = 1) => routerStatsSnapshot(recorder.state, windowSeconds),
    renderPrometheus: () => renderRouterMetrics(recorder.state),
  };
}
