// W3C trace context as a small string map ("traceparent", "tracestate") for places that carry
// it outside HTTP headers: the agent link's tasks, a worker's stored jobs. Only those two keys,
// each within the length W3C allows, are read back; anything else is ignored.
import { type Context, context, propagation, ROOT_CONTEXT } from "@opentelemetry/api";
import { activeTracer } from "./active-tracer";

/** Longest value kept per key (W3C: traceparent is 55 characters, tracestate at most 512). */
const carriedKeys: Readonly<Record<string, number>> = { traceparent: 55, tracestate: 512 };

/** The two trace keys of `source`, each only when present and not longer than W3C allows. */
export function boundedTraceContext(
  source: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const [key, limit] of Object.entries(carriedKeys)) {
    const value = source[key];
    if (typeof value !== "string" || value === "" || value.length > limit) continue;
    out ??= {};
    out[key] = value;
  }
  return out?.traceparent === undefined ? undefined : out;
}

/** The active span's context as a map, or undefined when tracing is off or nothing is active. */
export function activeTraceContext(
  ctx: Context = context.active(),
): Record<string, string> | undefined {
  if (activeTracer() === undefined) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return boundedTraceContext(carrier);
}

/** The context a carried map continues (the root context when it carries none). */
export function contextFromCarrier(carrier: Readonly<Record<string, string>> | undefined): Context {
  const bounded = carrier === undefined ? undefined : boundedTraceContext(carrier);
  return bounded === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, bounded);
}
