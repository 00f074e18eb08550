// Connect interceptors that trace calls served (server spans continuing the caller's
// traceparent) and calls made (client spans whose context goes out as traceparent). With tracing
// off each is one check per call.
import { ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from "@opentelemetry/api";
import { activeTracer } from "./active-tracer";
import { rpcAttributes, serverAddressAttributes, spanStatusFor } from "./rpc-attributes";

const headersGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};
const headersSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** Health checks and reflection come every few seconds from every checker: not traced. */
function untraced(typeName: string): boolean {
  return typeName.startsWith("grpc.health.") || typeName.startsWith("grpc.reflection.");
}

function end(span: Span, kind: "server" | "client", err: unknown): void {
  if (err === undefined) {
    span.setAttribute("rpc.grpc.status_code", 0);
  } else {
    const e = ConnectError.from(err);
    span.setAttribute("rpc.grpc.status_code", e.code);
    span.setStatus(spanStatusFor(kind, e.code, e.rawMessage));
    if (kind === "server" && !(err instanceof ConnectError) && err instanceof Error) {
      span.recordException(err);
    }
  }
  span.end();
}

/** Wraps a streamed response so the span ends with it and each step runs in the span's context. */
async function* traced<T>(
  source: AsyncIterable<T>,
  span: Span,
  kind: "server" | "client",
  ctx: Context,
): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await context.with(ctx, () => iterator.next());
      if (next.done) break;
      yield next.value;
    }
  } catch (err) {
    end(span, kind, err);
    throw err;
  }
  end(span, kind, undefined);
}

export function serverTracingInterceptor(): Interceptor {
  return (next) => async (req) => {
    const tracer = activeTracer();
    if (tracer === undefined || untraced(req.service.typeName)) return next(req);
    const parent = propagation.extract(ROOT_CONTEXT, req.header, headersGetter);
    const { name, attributes } = rpcAttributes(`/${req.service.typeName}/${req.method.name}`);
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    const ctx = trace.setSpan(parent, span);
    try {
      const res = await context.with(ctx, () => next(req));
      if (!res.stream) {
        end(span, "server", undefined);
        return res;
      }
      return { ...res, message: traced(res.message, span, "server", ctx) };
    } catch (err) {
      end(span, "server", err);
      throw err;
    }
  };
}

export function clientTracingInterceptor(): Interceptor {
  return (next) => async (req) => {
    const tracer = activeTracer();
    if (tracer === undefined || untraced(req.service.typeName)) return next(req);
    const { name, attributes } = rpcAttributes(`/${req.service.typeName}/${req.method.name}`);
    let target = {};
    try {
      target = serverAddressAttributes(new URL(req.url).host);
    } catch {
      // A transport without a URL of its own: the span names no server.
    }
    const parent = context.active();
    const span = tracer.startSpan(
      name,
      { kind: SpanKind.CLIENT, attributes: { ...attributes, ...target } },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    propagation.inject(ctx, req.header, headersSetter);
    try {
      const res = await next(req);
      if (!res.stream) {
        end(span, "client", undefined);
        return res;
      }
      return { ...res, message: traced(res.message, span, "client", ctx) };
    } catch (err) {
      end(span, "client", err);
      throw err;
    }
  };
}
