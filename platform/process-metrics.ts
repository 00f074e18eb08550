// The process's own health for /metrics: CPU time, resident memory, heap and event-loop lag.
import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import type { PrometheusText } from "./prometheus-text";

export interface ProcessMetrics {
  /** Appends the process families to an exposition. Event-loop lag covers the time since the previous call. */
  render(out: PrometheusText): void;
  /** Stops sampling the event loop. */
  close(): void;
}

export function createProcessMetrics(): ProcessMetrics {
  // 10 ms resolution: fine enough to see a blocked loop, cheap enough to leave on.
  const loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const startSeconds = Math.round((Date.now() - process.uptime() * 1000) / 1000);

  return {
    render(out) {
      const cpu = process.cpuUsage();
      out.family("process_cpu_user_seconds_total", "counter", "User CPU time spent, in seconds.");
      out.sample("process_cpu_user_seconds_total", undefined, cpu.user / 1e6);
      out.family(
        "process_cpu_system_seconds_total",
        "counter",
        "System CPU time spent, in seconds.",
      );
      out.sample("process_cpu_system_seconds_total", undefined, cpu.system / 1e6);
      out.family("process_cpu_seconds_total", "counter", "User and system CPU time, in seconds.");
      out.sample("process_cpu_seconds_total", undefined, (cpu.user + cpu.system) / 1e6);

      out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
      out.sample("process_resident_memory_bytes", undefined, process.memoryUsage.rss());
      const heap = process.memoryUsage();
      out.family("nodejs_heap_used_bytes", "gauge", "V8 heap in use, in bytes.");
      out.sample("nodejs_heap_used_bytes", undefined, heap.heapUsed);
      out.family(
        "process_start_time_seconds",
        "gauge",
        "Start time since the Unix epoch, in seconds.",
      );
      out.sample("process_start_time_seconds", undefined, startSeconds);

      // The histogram reports NaN/huge sentinels before its first sample; show 0 then.
      const sampled = loop.count > 0;
      out.family(
        "nodejs_eventloop_lag_seconds",
        "gauge",
        "Mean event-loop delay since the previous scrape, in seconds.",
      );
      out.sample("nodejs_eventloop_lag_seconds", undefined, sampled ? loop.mean / 1e9 : 0);
      out.family(
        "nodejs_eventloop_lag_p99_seconds",
        "gauge",
        "99th percentile event-loop delay since the previous scrape, in seconds.",
      );
      out.sample(
        "nodejs_eventloop_lag_p99_seconds",
        undefined,
        sampled ? loop.percentile(99) / 1e9 : 0,
      );
      out.family(
        "nodejs_eventloop_lag_max_seconds",
        "gauge",
        "Longest event-loop delay since the previous scrape, in seconds.",
      );
      out.sample("nodejs_eventloop_lag_max_seconds", undefined, sampled ? loop.max / 1e9 : 0);
      loop.reset();
    },
    close() {
      loop.disable();
    },
  };
}
