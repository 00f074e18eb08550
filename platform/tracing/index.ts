// OpenTelemetry tracing: started from OTEL_* variables, free when off.
export { activeTracer } from "./active-tracer";
export { RelayTrace, startRelayTrace } from "./relay-trace";
export { clientTracingInterceptor, serverTracingInterceptor } from "./rpc-interceptors";
export { type StartTracingOptions, startTracing, type Tracing } from "./start-tracing";
export { activeTraceIds, type TraceIds, traceIdsOf } from "./trace-ids";
export { readTracingConfig, type TracingConfig } from "./tracing-config";
