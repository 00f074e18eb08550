// Prometheus metrics of a service: calls by method and status code, latency, calls in flight,
// beside the runtime families the /metrics server appends.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createPrometheusText, type PrometheusText } from "../../platform/prometheus-text";

/** Upper bounds of the latency buckets, in seconds. */
const bounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

interface MethodStats {
  codes: Map<string, number>;
  buckets: number[];
  sum: number;
}

export interface ServiceMetrics {
  interceptor: Interceptor;
  render(): string;
  close(): void;
}

export function createServiceMetrics(
  labels: { service: string },
  extra?: (out: PrometheusText) => void,
): ServiceMetrics {
  const methods = new Map<string, MethodStats>();
  let inFlight = 0;

  const record = (method: string, code: string, seconds: number) => {
    let stats = methods.get(method);
    if (!stats) {
      stats = { codes: new Map(), buckets: new Array(bounds.length + 1).fill(0), sum: 0 };
      methods.set(method, stats);
    }
    stats.codes.set(code, (stats.codes.get(code) ?? 0) + 1);
    const i = bounds.findIndex((b) => seconds <= b);
    const slot = i === -1 ? bounds.length : i;
    stats.buckets[slot] = (stats.buckets[slot] ?? 0) + 1;
    stats.sum += seconds;
  };
  const codeName = (err: unknown) => Code[ConnectError.from(err).code] ?? "Unknown";

  // Streams count from the call's start until the handler's last message: time to the end of work.
  const interceptor: Interceptor = (next) => async (req) => {
    const method = `${req.service.typeName}/${req.method.name}`;
    const started = performance.now();
    inFlight++;
    const finish = (code: string) => {
      inFlight--;
      record(method, code, (performance.now() - started) / 1000);
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        finish("OK");
        return res;
      }
      const source = res.message;
      async function* tracked() {
        // A caller that goes away mid-stream ends the generator early: counted as cancelled.
        let code = "Canceled";
        try {
          yield* source;
          code = "OK";
        } catch (err) {
          code = codeName(err);
          throw err;
        } finally {
          finish(code);
        }
      }
      return { ...res, message: tracked() };
    } catch (err) {
      finish(codeName(err));
      throw err;
    }
  };

  return {
    interceptor,
    render() {
      const out = createPrometheusText();
      out.family(
        "grpc_server_handled_total",
        "counter",
        "Calls finished, by method and status code.",
      );
      for (const [method, stats] of methods) {
        for (const [code, n] of stats.codes) {
          out.sample("grpc_server_handled_total", { ...labels, method, code }, n);
        }
      }
      out.family(
        "grpc_server_handling_seconds",
        "histogram",
        "Time from call start to its end, in seconds.",
      );
      for (const [method, stats] of methods) {
        out.histogram(
          "grpc_server_handling_seconds",
          { ...labels, method },
          bounds,
          stats.buckets,
          stats.sum,
        );
      }
      out.family("grpc_server_in_flight", "gauge", "Calls in progress.");
      out.sample("grpc_server_in_flight", labels, inFlight);
      extra?.(out);
      return out.text();
    },
    close: () => {},
  };
}
