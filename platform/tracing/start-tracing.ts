// Starts OpenTelemetry tracing for this process when an OTLP exporter is configured (standard
// OTEL_* variables). The SDK and exporter are imported only then: with tracing off nothing of
// them is loaded.
import { activeTracer, setActiveTracer } from "./active-tracer";
import { readTracingConfig } from "./tracing-config";

export interface Tracing {
  readonly enabled: boolean;
  /** Exports the spans still buffered and stops. */
  stop(): Promise<void>;
}

const off: Tracing = { enabled: false, stop: async () => {} };

/**
 * Registers a tracer provider (W3C trace context, async-context propagation) named
 * `defaultServiceName` unless OTEL_SERVICE_NAME says otherwise. Once per process; later calls
 * answer the first one's handle.
 */
export interface StartTracingOptions {
  /**
   * Carry the active span across awaits (AsyncLocalStorage), so a handler's own calls and log
   * lines join its span. Processes that only relay (the routers) turn it off: once enabled it
   * costs every async operation of the process. Default true.
   */
  asyncContext?: boolean;
}

export async function startTracing(
  defaultServiceName: string,
  options: StartTracingOptions = {},
): Promise<Tracing> {
  // The exporter and SDK read the same variables from process.env themselves.
  const config = readTracingConfig(process.env);
  if (!config.enabled) return off;
  if (running !== undefined) return running;
  const [{ NodeTracerProvider, BatchSpanProcessor }, resources, exporterModule] = await Promise.all(
    [
      import("@opentelemetry/sdk-trace-node"),
      import("@opentelemetry/resources"),
      config.protocol === "http/json"
        ? import("@opentelemetry/exporter-trace-otlp-http")
        : import("@opentelemetry/exporter-trace-otlp-proto"),
    ],
  );
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ "service.name": defaultServiceName }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new NodeTracerProvider({
    resource,
    spanProcessors: [new BatchSpanProcessor(new exporterModule.OTLPTraceExporter())],
  });
  provider.register(options.asyncContext === false ? { contextManager: null } : {});
  setActiveTracer(provider.getTracer("agent-platform"));
  const handle: Tracing = {
    enabled: true,
    async stop() {
      if (activeTracer() === undefined) return;
      setActiveTracer(undefined);
      running = undefined;
      await provider.shutdown();
    },
  };
  running = handle;
  return handle;
}

let running: Tracing | undefined;
