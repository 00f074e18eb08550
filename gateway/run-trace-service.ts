// TraceService on the browser endpoint: the Run page asks for the spans of a run it started.
// The interceptor marks each console run's trace (the traceparent the console sent, continued by
// the gateway's server span) for keeping.

import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { ConsoleService } from "../gen/agentplatform/v1/console_pb";
import { TraceService, type TraceSpanSchema } from "../gen/agentplatform/v1/trace_pb";
import { activeTraceIds, activeTracer } from "../platform/tracing";
import type { ReceivedSpan } from "../platform/tracing/otlp-json";
import { isTraceId, type RunTraceStore } from "./run-traces";

/** After the tracing interceptor: a console run's trace id is watched before the run starts. */
export function runTraceInterceptor(store: RunTraceStore): Interceptor {
  return (next) => async (req) => {
    if (
      req.service.typeName === ConsoleService.typeName &&
      req.method.name === ConsoleService.method.invoke.name
    ) {
      const ids = activeTraceIds();
      if (ids !== undefined) store.watch(ids.trace_id);
    }
    return next(req);
  };
}

const kinds: Record<number, string> = { 1: "internal", 2: "server", 3: "client" };

function toTraceSpan(span: ReceivedSpan): MessageInitShape<typeof TraceSpanSchema> {
  const code = span.attributes["rpc.grpc.status_code"];
  const host = span.attributes["server.address"];
  const port = span.attributes["server.port"];
  return {
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    service: span.service,
    name: span.name,
    kind: kinds[span.kind] ?? "internal",
    startMs: Number(span.startNs / 1000n) / 1000,
    durationMs: Number((span.endNs - span.startNs) / 1000n) / 1000,
    grpcStatusCode: typeof code === "number" ? code : -1,
    error: span.statusCode === 2,
    serverAddress: host === undefined ? "" : port === undefined ? String(host) : `${host}:${port}`,
    events: span.events.map((e) => ({
      name: e.name,
      attributes: Object.fromEntries(
        Object.entries(e.attributes).map(([k, v]) => [k, v === undefined ? "" : String(v)]),
      ),
    })),
  };
}

/** The trace UI's link for a trace: `{trace_id}` in the template is replaced, else /trace/<id>. */
export function traceUiLink(template: string | undefined, traceId: string): string {
  if (template === undefined || template === "") return "";
  if (template.includes("{trace_id}")) return template.replaceAll("{trace_id}", traceId);
  return `${template.replace(/\/+$/, "")}/trace/${traceId}`;
}

export function runTraceRoutes(store: RunTraceStore, traceUiUrl: string | undefined) {
  return (router: ConnectRouter) =>
    router.service(TraceService, {
      getRunTrace(req) {
        if (!isTraceId(req.traceId)) {
          throw new ConnectError("trace_id must be 32 lowercase hex digits", Code.InvalidArgument);
        }
        const enabled = activeTracer() !== undefined;
        const spans = store.get(req.traceId) ?? [];
        return {
          tracingEnabled: enabled,
          spans: [...spans].sort((a, b) => (a.startNs < b.startNs ? -1 : 1)).map(toTraceSpan),
          traceUiUrl: enabled ? traceUiLink(traceUiUrl, req.traceId) : "",
        };
      },
    });
}
