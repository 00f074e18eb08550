// The process's runtime metrics under their standard names (prom-client's default metrics:
// process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds,
// nodejs_heap_size_used_bytes, nodejs_eventloop_lag_seconds, nodejs_gc_duration_seconds…), so
// stock Node.js dashboards work. One registry per process, created on first use.
import { collectDefaultMetrics, Registry } from "prom-client";

let registry: Registry | undefined;

function runtimeRegistry(): Registry {
  if (registry === undefined) {
    registry = new Registry();
    // 10 ms resolution: fine enough to see a blocked loop, cheap enough to leave on.
    collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  }
  return registry;
}

/** Prometheus text of the runtime families, to append to a process's own exposition. */
export function renderRuntimeMetrics(): Promise<string> {
  return runtimeRegistry().metrics();
}
