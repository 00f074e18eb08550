// The router's /metrics text: call counters by code, latency histograms, gauges. The process's runtime families are appended by the /metrics server.
import { createPrometheusText } from "../../platform/prometheus-text";
import { durationBoundsSeconds, type RecorderState } from "./call-recorder";
import { forgetIdleBackends } from "./router-stats";

/** gRPC status names by code, as they appear in the `code` label. */
export const grpcCodeNames = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

export function renderRouterMetrics(state: RecorderState): string {
  const at = state.now();
  forgetIdleBackends(state, at);
  const out = createPrometheusText();

  out.family("router_calls_total", "counter", "Calls forwarded, by service, method and gRPC code.");
  for (const s of state.services.values()) {
    for (const [method, codes] of s.codes) {
      for (let code = 0; code < codes.length; code++) {
        const count = codes[code] ?? 0;
        if (count === 0) continue;
        out.sample(
          "router_calls_total",
          { service: s.service, method, code: grpcCodeNames[code] ?? String(code) },
          count,
        );
      }
    }
  }

  out.family(
    "router_call_duration_seconds",
    "histogram",
    "Time from request headers to the last response byte, by method.",
  );
  for (const m of state.methods.values()) {
    out.histogram(
      "router_call_duration_seconds",
      { method: m.method },
      durationBoundsSeconds,
      m.durationBuckets,
      m.durationSumSeconds,
    );
  }

  out.family("router_in_flight_calls", "gauge", "Calls in progress, by method.");
  for (const m of state.methods.values()) {
    out.sample("router_in_flight_calls", { method: m.method }, m.inFlight);
  }
  out.family("router_active_streams", "gauge", "Streaming calls in progress, by method.");
  for (const m of state.methods.values()) {
    out.sample("router_active_streams", { method: m.method }, m.activeStreams);
  }

  out.family("router_backend_in_flight_calls", "gauge", "Calls in progress, by backend instance.");
  for (const b of state.backends.values()) {
    out.sample(
      "router_backend_in_flight_calls",
      { service: b.service, backend: b.address },
      b.inFlight,
    );
  }
  out.family("router_backend_ejected", "gauge", "1 while the balancer keeps an instance out.");
  for (const b of state.backends.values()) {
    out.sample(
      "router_backend_ejected",
      { service: b.service, backend: b.address },
      b.ejected ? 1 : 0,
    );
  }

  out.family(
    "router_retries_total",
    "counter",
    "Calls that needed at least one retry, by service.",
  );
  for (const s of state.services.values()) {
    if (s.retries > 0) out.sample("router_retries_total", { service: s.service }, s.retries);
  }
  out.family("router_ejections_total", "counter", "Instances taken out of rotation, by service.");
  for (const s of state.services.values()) {
    if (s.ejections > 0) out.sample("router_ejections_total", { service: s.service }, s.ejections);
  }
  out.family(
    "router_discovery_staleness_seconds",
    "gauge",
    "Seconds since the registry last answered for a service.",
  );
  for (const s of state.services.values()) {
    if (s.answeredAtMs === 0) continue;
    out.sample(
      "router_discovery_staleness_seconds",
      { service: s.service },
      Math.max(0, at - s.answeredAtMs) / 1000,
    );
  }

  out.family(
    "router_discovery_held_seconds",
    "gauge",
    "Seconds the last known instances of a service have been served against a registry that came back listing none.",
  );
  for (const s of state.services.values()) {
    if (s.heldSinceMs === 0) continue;
    out.sample(
      "router_discovery_held_seconds",
      { service: s.service },
      Math.max(0, at - s.heldSinceMs) / 1000,
    );
  }

  out.family(
    "router_overload_refusals_total",
    "counter",
    "Calls refused by overload control (UNAVAILABLE with grpc-retry-pushback-ms), by service.",
  );
  for (const s of state.services.values()) {
    if (s.overloadRefusals > 0) {
      out.sample("router_overload_refusals_total", { service: s.service }, s.overloadRefusals);
    }
  }
  out.family(
    "router_overload_refusal_wait_seconds",
    "histogram",
    "Time from a refused call's arrival at this router to its refusal by overload control.",
  );
  out.histogram(
    "router_overload_refusal_wait_seconds",
    undefined,
    durationBoundsSeconds,
    state.refusalWaits.buckets,
    state.refusalWaits.sumSeconds,
  );
  const admission = state.admission?.();
  if (admission !== undefined) {
    const gauge = (name: string, help: string, samples: [Record<string, string>, number][]) => {
      out.family(name, "gauge", help);
      for (const [labels, value] of samples) out.sample(name, labels, value);
    };
    gauge(
      "router_overload_queued_calls",
      "Calls waiting for a place at an instance of their service, by service.",
      admission.queued.map((q) => [{ service: q.service }, q.calls]),
    );
    gauge(
      "router_instance_concurrency_limit",
      "Calls this router lets run at once on an instance (adaptive), by instance.",
      admission.limits.map((l) => [{ instance: l.address }, l.limit]),
    );
  }

  out.family("router_dial_in_links", "gauge", "Dial-in agent links held by this router.");
  out.sample("router_dial_in_links", undefined, state.dialInLinks());

  return out.text();
}
