// The tracer of this process once tracing has started, else undefined. Hot paths read this one
// variable and skip every span when it is undefined, so tracing off costs a branch.
import type { Tracer } from "@opentelemetry/api";

let current: Tracer | undefined;

export function activeTracer(): Tracer | undefined {
  return current;
}

/** @internal set by startTracing and its stop. */
export function setActiveTracer(tracer: Tracer | undefined): void {
  current = tracer;
}
