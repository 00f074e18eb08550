// The trace and span ids of the span active in the current context, for log lines. Reads the
// OpenTelemetry API only: without a registered SDK there is never an active span, at the cost
// of one context lookup.
import { context, isSpanContextValid, type SpanContext, trace } from "@opentelemetry/api";

export interface TraceIds {
  trace_id: string;
  span_id: string;
}

export function traceIdsOf(spanContext: SpanContext | undefined): TraceIds | undefined {
  if (spanContext === undefined || !isSpanContextValid(spanContext)) return undefined;
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

export function activeTraceIds(): TraceIds | undefined {
  return traceIdsOf(trace.getSpan(context.active())?.spanContext());
}
