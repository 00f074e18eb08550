// Spans of a call relayed frame by frame (the front door and the routers): a server span for the
// call and a client span per attempt, built from headers and trailers only — no message is
// decoded. Each attempt's span goes upstream as the call's traceparent, so the next hop's spans
// hang under the attempt that reached it, and retries show as separate attempts.
import {
  type Attributes,
  type Context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { HeaderList } from "../h2/hpack";
import { activeTracer } from "./active-tracer";
import { headerListGetter, headerListSetter } from "./header-list-carrier";
import { rpcAttributes, serverAddressAttributes, spanStatusFor } from "./rpc-attributes";
import { type TraceIds, traceIdsOf } from "./trace-ids";

/** Span names and rpc.* attributes by path, bounded: the front door sees any path. */
const rpcByPath = new Map<string, ReturnType<typeof rpcAttributes>>();
const maxCachedPaths = 256;

function rpcFor(path: string): ReturnType<typeof rpcAttributes> {
  let found = rpcByPath.get(path);
  if (found === undefined) {
    found = rpcAttributes(path);
    if (rpcByPath.size < maxCachedPaths) rpcByPath.set(path, found);
  }
  return found;
}

export class RelayTrace {
  private readonly context: Context;
  private readonly name: string;
  private readonly rpc: Attributes;
  private attemptSpan: Span | undefined;
  private attempts = 0;
  readonly span: Span;

  constructor(
    private readonly tracer: Tracer,
    path: string,
    requestHeaders: HeaderList,
    relay: string,
  ) {
    const parent = propagation.extract(ROOT_CONTEXT, requestHeaders, headerListGetter);
    const { name, attributes } = rpcFor(path);
    this.name = name;
    this.rpc = attributes;
    // Attributes only for spans that are recorded: an unsampled call (most, at 1%) skips them.
    this.span = tracer.startSpan(name, { kind: SpanKind.SERVER }, parent);
    if (this.span.isRecording()) {
      this.span.setAttributes(attributes);
      this.span.setAttribute("agentplatform.relay", relay);
    }
    this.context = trace.setSpan(parent, this.span);
  }

  /** An attempt on `address` starts; its span's context replaces the traceparent in `upstream`. */
  attemptStarted(address: string, upstream: HeaderList): void {
    this.attempts++;
    if (!this.span.isRecording()) {
      // Not sampled: the next hop learns that from this span's context; no attempt spans.
      if (this.attempts === 1) propagation.inject(this.context, upstream, headerListSetter);
      return;
    }
    const target = serverAddressAttributes(address);
    if (this.attempts > 1) this.span.addEvent("retry", { attempt: this.attempts, ...target });
    const span = this.tracer.startSpan(
      this.name,
      { kind: SpanKind.CLIENT, attributes: { ...this.rpc, ...target } },
      this.context,
    );
    this.attemptSpan = span;
    propagation.inject(trace.setSpan(this.context, span), upstream, headerListSetter);
  }

  /** The attempt ended with `code`; `failure` says how it failed before any response byte. */
  attemptEnded(code: number, failure: string | undefined): void {
    const span = this.attemptSpan;
    if (span === undefined) return;
    this.attemptSpan = undefined;
    span.setAttribute("rpc.grpc.status_code", code);
    if (failure !== undefined) span.setAttribute("agentplatform.attempt.failure", failure);
    span.setStatus(spanStatusFor("client", code, failure ?? ""));
    span.end();
  }

  /** This call's failure took `address` out of rotation (outlier ejection). */
  ejected(address: string): void {
    this.span.addEvent("ejected", serverAddressAttributes(address));
  }

  /** Something worth seeing on the call's span (an ejection, a refusal). */
  event(name: string, attributes?: Attributes): void {
    this.span.addEvent(name, attributes);
  }

  finished(code: number, message: string): void {
    this.attemptEnded(code, undefined);
    const span = this.span;
    span.setAttribute("rpc.grpc.status_code", code);
    if (this.attempts > 1) span.setAttribute("agentplatform.attempts", this.attempts);
    span.setStatus(spanStatusFor("server", code, message));
    span.end();
  }

  /** The call goes on in this process's own server (`headers` carry this span there); ends here. */
  handOff(headers: HeaderList, to: string): void {
    propagation.inject(this.context, headers, headerListSetter);
    this.span.setAttribute("agentplatform.handed_to", to);
    this.span.end();
  }

  /** For log lines about this call. */
  ids(): TraceIds | undefined {
    return traceIdsOf(this.span.spanContext());
  }
}

/** A trace for a relayed call, or undefined (at the cost of one read) when tracing is off. */
export function startRelayTrace(
  path: string,
  requestHeaders: HeaderList,
  relay: string,
): RelayTrace | undefined {
  const tracer = activeTracer();
  return tracer === undefined ? undefined : new RelayTrace(tracer, path, requestHeaders, relay);
}
