// Spans of a worker's job runs: one per run (a claim that runs the job) and one per step it runs,
// children of the ProcessTask call that accepted the job, whose trace context is stored with the
// task. A run resumed on another instance after a takeover joins the same trace. With tracing off
// every function here is one check.
import { ConnectError } from "@connectrpc/connect";
import { type Context, context, type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import { activeTracer } from "../../../platform/tracing";
import { contextFromCarrier } from "../../../platform/tracing/trace-carrier";
import type { StoredState, StoredTask } from "./task-store";

/** How a run ended, as recorded on its span. */
export type RunEnd = "succeeded" | "failed" | "cancelled" | "released" | "lost";

export interface JobTrace {
  /** Runs the job with the run's span active. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** Runs one step inside its own span, named after the step, recording its outcome. */
  step<T>(name: string, fn: () => Promise<T>, outcome: () => StoredState): Promise<T>;
  end(how: RunEnd, err?: unknown): void;
}

const untraced: JobTrace = {
  run: (fn) => fn(),
  step: (_name, fn) => fn(),
  end: () => {},
};

function recordError(span: Span, err: unknown): void {
  const e = ConnectError.from(err);
  span.setAttribute("rpc.grpc.status_code", e.code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.rawMessage });
}

export function startJobTrace(task: StoredTask): JobTrace {
  const tracer = activeTracer();
  if (tracer === undefined) return untraced;
  const parent = contextFromCarrier(task.traceContext);
  const span = tracer.startSpan(
    `job ${task.worker}`,
    {
      attributes: {
        "agentplatform.worker": task.worker,
        "agentplatform.task_id": task.taskId,
        "agentplatform.job.attempt": task.attempt,
      },
    },
    parent,
  );
  const runCtx: Context = trace.setSpan(parent, span);
  let ended = false;
  return {
    run: (fn) => context.with(runCtx, fn),
    async step(name, fn, outcome) {
      const stepSpan = tracer.startSpan(
        `step ${name}`,
        { attributes: { "agentplatform.job.step": name } },
        runCtx,
      );
      try {
        return await context.with(trace.setSpan(runCtx, stepSpan), fn);
      } catch (err) {
        if (outcome() === "FAILED") recordError(stepSpan, err);
        throw err;
      } finally {
        stepSpan.setAttribute("agentplatform.job.step.outcome", outcome());
        stepSpan.end();
      }
    },
    end(how, err) {
      if (ended) return;
      ended = true;
      span.setAttribute("agentplatform.job.outcome", how);
      if (how === "failed") recordError(span, err);
      span.end();
    },
  };
}
