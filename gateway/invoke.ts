// Invoke: runs any platform method through the routers with a JSON request, and reports what
// happened as events: the response headers, each message as it arrives, then the status.
import {
  createRegistry,
  type DescMessage,
  type DescMethod,
  fromJsonString,
  type MessageInitShape,
  type MessageShape,
  type Registry,
  toJsonString,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  type HandlerContext,
  type Transport,
} from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import type {
  InvokeEventSchema,
  InvokeHeadersSchema,
  InvokeRequest,
  InvokeResultSchema,
} from "../gen/agentplatform/v1/console_pb";
import { file_agentplatform_v1_exec } from "../gen/agentplatform/v1/exec_pb";
import { file_agentplatform_v1_platform } from "../gen/agentplatform/v1/platform_pb";
import { file_agentplatform_v1_router_admin } from "../gen/agentplatform/v1/router_admin_pb";
import { file_grpc_health_v1_health } from "../gen/grpc/health/v1/health_pb";
import { chosenRouterKey } from "../platform/router-transport";
import { type AuditNote, auditNoteKey, targetOf } from "./browser-interceptors";
import { callerKey } from "./caller";
import { headerMap, metadataHeaders } from "./forwarded-headers";
import { isExecMethod, prepareExecInvoke } from "./invoke-exec";
import { isServerStreaming, isUnary } from "./method-kind";
import { codeName } from "./status-codes";

/** What the routers serve, and so what Invoke can run. */
export const invokableRegistry: Registry = createRegistry(
  file_agentplatform_v1_platform,
  file_agentplatform_v1_exec,
  file_agentplatform_v1_router_admin,
  file_grpc_health_v1_health,
);

export interface InvokeOptions {
  /** Reaches the routers. */
  transport: Transport;
  /** Deadline when the request asks for none, in ms. */
  defaultTimeoutMs: number;
  /** Longest deadline allowed, in ms; 0 for no cap. */
  maxTimeoutMs: number;
}

/** Finds "/pkg.Service/Method" (leading slash optional); NOT_FOUND naming what exists otherwise. */
export function findMethod(path: string, registry: Registry = invokableRegistry): DescMethod {
  const match = /^\/?([\w.]+)\/(\w+)$/.exec(path.trim());
  const service = match?.[1] ? registry.getService(match[1]) : undefined;
  const method = service?.methods.find((m) => m.name === match?.[2]);
  if (!method) {
    const known = [...registry]
      .filter((d) => d.kind === "service")
      .map((d) => d.typeName)
      .join(", ");
    throw new ConnectError(
      `unknown method "${path}": expected "/package.Service/Method" of one of ${known}`,
      Code.NotFound,
    );
  }
  return method;
}

function parseRequest(method: DescMethod, json: string) {
  try {
    return fromJsonString(method.input, json.trim() === "" ? "{}" : json);
  } catch (err) {
    throw new ConnectError(
      `request_json is not a valid ${method.input.typeName}: ${(err as Error).message}`,
      Code.InvalidArgument,
    );
  }
}

type InvokeEventInit = MessageInitShape<typeof InvokeEventSchema>;

const headersEvent = (value: MessageInitShape<typeof InvokeHeadersSchema>): InvokeEventInit => ({
  event: { case: "headers", value },
});
const resultEvent = (value: MessageInitShape<typeof InvokeResultSchema>): InvokeEventInit => ({
  event: { case: "result", value },
});

export async function* invoke(
  req: InvokeRequest,
  ctx: HandlerContext,
  options: InvokeOptions,
): AsyncGenerator<InvokeEventInit> {
  const note: AuditNote | undefined = ctx.values.get(auditNoteKey);
  // Even a run that names no real method is recorded as what was asked for.
  if (note && req.method.trim() !== "") note.method = req.method.trim();
  const method = findMethod(req.method);
  const path = `/${method.parent.typeName}/${method.name}`;
  if (note) note.method = path;
  if (!isUnary(method) && !isServerStreaming(method)) {
    throw new ConnectError(
      `${path} is ${method.methodKind.replace("_", "-")}; Invoke runs unary and server-streaming methods`,
      Code.InvalidArgument,
    );
  }
  const input = parseRequest(method, req.requestJson);
  if (note) note.target = targetOf(input, method.input);
  const exec = isExecMethod(method)
    ? prepareExecInvoke(input, ctx.values.get(callerKey), note)
    : undefined;
  const headers = metadataHeaders(req.metadata);
  if (note) note.metadata = { ...req.metadata };

  const caps = [req.timeoutMs || options.defaultTimeoutMs, ctx.timeoutMs()];
  if (options.maxTimeoutMs > 0) caps.push(options.maxTimeoutMs);
  const timeoutMs = Math.min(...caps.filter((t): t is number => t !== undefined && t > 0));

  const values = createContextValues();
  const routerName = () => {
    const router = values.get(chosenRouterKey);
    return router ? router.id || `${router.address}:${router.port}` : "";
  };
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  let count = 0;
  const messageEvent = (message: MessageShape<DescMessage>): InvokeEventInit => {
    exec?.seen(message);
    return {
      event: {
        case: "message",
        value: {
          json: toJsonString(method.output, message, { alwaysEmitImplicit: true }),
          elapsedMs: elapsed(),
          index: count++,
        },
      },
    };
  };
  let headersSent = false;
  try {
    if (isUnary(method)) {
      const res = await options.transport.unary(
        method,
        ctx.signal,
        timeoutMs,
        headers,
        input,
        values,
      );
      headersSent = true;
      if (note) note.router = routerName();
      yield headersEvent({ headers: headerMap(res.header), router: routerName() });
      yield messageEvent(res.message);
      if (note) note.code = "OK";
      yield resultEvent({
        code: "OK",
        trailers: headerMap(res.trailer),
        elapsedMs: elapsed(),
        messages: count,
      });
      return;
    }
    if (!isServerStreaming(method)) return;
    const res = await options.transport.stream(
      method,
      ctx.signal,
      timeoutMs,
      headers,
      createAsyncIterable([input]),
      values,
    );
    headersSent = true;
    if (note) note.router = routerName();
    yield headersEvent({ headers: headerMap(res.header), router: routerName() });
    for await (const message of res.message) yield messageEvent(message);
    if (note) note.code = "OK";
    yield resultEvent({
      code: "OK",
      trailers: headerMap(res.trailer),
      elapsedMs: elapsed(),
      messages: count,
    });
  } catch (err) {
    const error = ConnectError.from(err);
    const code = codeName(error.code);
    if (note) {
      note.code = code;
      note.message = error.rawMessage;
      note.router = routerName();
    }
    // The caller went away: nobody is left to tell.
    if (ctx.signal.aborted && error.code === Code.Canceled) return;
    if (!headersSent && routerName() !== "") {
      yield headersEvent({ headers: {}, router: routerName() });
    }
    yield resultEvent({
      code,
      message: error.rawMessage,
      trailers: headerMap(error.metadata),
      elapsedMs: elapsed(),
      messages: count,
    });
  }
}
