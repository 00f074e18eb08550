// The SERVER span of a task a dial-in agent runs for a call that reached it over its link: it
// continues the trace context the router sent with the task (LinkTask.trace_context), so the
// agent's work joins the caller's trace. With tracing off it costs one check.
import { ConnectError } from "@connectrpc/connect";
import { context, SpanKind, trace } from "@opentelemetry/api";
import type { LinkTask } from "../../gen/agentplatform/v1/link_pb";
import { activeTracer } from "../../platform/tracing";
import { rpcAttributes, spanStatusFor } from "../../platform/tracing/rpc-attributes";
import { contextFromCarrier } from "../../platform/tracing/trace-carrier";

export interface LinkTaskSpan {
  /** Runs fn with the span active (calls it makes and its log lines join the trace). */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Ends the span: OK without an error, else with the error's gRPC code. */
  end(err?: unknown): void;
}

const untraced: LinkTaskSpan = { run: (fn) => fn(), end: () => {} };

export function startLinkTaskSpan(task: LinkTask): LinkTaskSpan {
  const tracer = activeTracer();
  if (tracer === undefined) return untraced;
  const parent = contextFromCarrier(task.traceContext);
  const method = task.streaming ? "StreamTask" : "ExecuteTask";
  const { name, attributes } = rpcAttributes(`/agentplatform.v1.AgentService/${method}`);
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  const ctx = trace.setSpan(parent, span);
  let ended = false;
  return {
    run: (fn) => context.with(ctx, fn),
    end(err) {
      if (ended) return;
      ended = true;
      if (err === undefined) {
        span.setAttribute("rpc.grpc.status_code", 0);
      } else {
        const e = typeof err === "number" ? new ConnectError("", err) : ConnectError.from(err);
        span.setAttribute("rpc.grpc.status_code", e.code);
        span.setStatus(spanStatusFor("server", e.code, e.rawMessage));
        if (!(err instanceof ConnectError) && err instanceof Error) span.recordException(err);
      }
      span.end();
    },
  };
}
