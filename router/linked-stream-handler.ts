// Inside the router's internal Connect server: routed calls the frame relay handed over because
// a dial-in agent for their service is linked here. Reads the first message, and hands the call
// to the link (./linked-call.ts), recording it like any routed call. If the link went away
// between the relay's check and now, the caller gets UNAVAILABLE and may retry (its next call
// is routed to wherever the agent linked again).
import type { IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { bearerToken } from "../platform/auth/jwt";
import { type FirstMessage, FirstMessageReader } from "../platform/forwarding/first-message";
import { endWithStatus } from "../platform/forwarding/grpc-status";
import { parseGrpcTimeout } from "../platform/forwarding/grpc-timeout";
import type { RawStreamHandler } from "../platform/grpc-server";
import { boundedTraceContext } from "../platform/tracing/trace-carrier";
import { serveLinkedExec } from "./agent-link/exec-call";
import type { LinkedAgents } from "./agent-link/linked-agents";
import { serveLinkedCall } from "./linked-call";
import { type RoutedMethod, routedMethods } from "./routed-methods";
import { grpcContentTypes, type Routing, readTarget } from "./routing";

function serve(
  routing: Routing,
  linked: LinkedAgents,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  routed: RoutedMethod,
  first: FirstMessage,
  startedAt: number,
): void {
  const deps = routing.deps;
  const encoding = headers["grpc-encoding"];
  const target = readTarget(
    first,
    typeof encoding === "string" ? encoding : undefined,
    routed,
    deps.maxMessageBytes,
  );
  if (target instanceof ConnectError) {
    endWithStatus(stream, target.code, target.rawMessage);
    return;
  }
  const service = routing.serviceFor(target.id, routed);
  if (!routed.linked || !linked.hasLocal(service)) {
    endWithStatus(
      stream,
      Code.Unavailable,
      `no agent link for "${service}" is held at this router any more; try again`,
    );
    return;
  }
  const timeoutMs = parseGrpcTimeout(headers["grpc-timeout"]);
  const deadlineAt =
    timeoutMs === undefined || Number.isNaN(timeoutMs) ? undefined : startedAt + timeoutMs;
  const recorder = deps.recorder;
  const path = routed.path;
  const streaming = routed.linked !== "unary";
  recorder?.callStarted(path, "", streaming);
  const served =
    routed.linked === "exec"
      ? serveLinkedExec({
          res: stream,
          linked,
          service,
          payload: target.payload,
          deadlineAt,
          subject: callerSubject(routing, path, headers),
        })
      : serveLinkedCall({
          res: stream,
          linked,
          service,
          payload: target.payload,
          streaming,
          deadlineAt,
          traceContext: boundedTraceContext(headers),
        });
  void served.then((result) => {
    recorder?.callEnded(path, "", streaming);
    recorder?.record({
      method: path,
      service,
      backend: "",
      code: result.code,
      durationMs: performance.now() - startedAt,
      streaming,
      // Time to first message is a stream statistic; a unary reply's is just its duration.
      ttfbMs: streaming ? result.firstMessageMs : undefined,
      messages: result.messages,
      retried: false,
    });
  });
}

/** The token subject of a call the relay already let through, for audit records. */
function callerSubject(routing: Routing, path: string, headers: IncomingHttpHeaders): string {
  const authorization = headers.authorization;
  if (routing.deps.auth === undefined || bearerToken(authorization) === undefined) {
    return "anonymous";
  }
  const decision = routing.deps.auth.check(path, authorization);
  const sub = decision.allowed ? decision.claims?.sub : undefined;
  return typeof sub === "string" && sub !== "" ? sub : "unknown";
}

/** Takes gRPC calls to routed methods in the internal server and serves them over the links. */
export function createLinkedStreamHandler(
  routing: Routing,
  linked: LinkedAgents,
): RawStreamHandler {
  const log = routing.deps.logger;
  return (stream, headers) => {
    const routed = routedMethods.get(headers[":path"] ?? "");
    if (routed === undefined) return false;
    const contentType = headers["content-type"];
    if (contentType === undefined || !grpcContentTypes.has(contentType)) return false;
    const startedAt = performance.now();
    const reader = new FirstMessageReader(routing.deps.maxMessageBytes);
    const stop = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
    };
    const onData = (chunk: Buffer) => {
      let first: FirstMessage | undefined;
      try {
        first = reader.push(chunk);
      } catch (err) {
        stop();
        const error = ConnectError.from(err);
        endWithStatus(stream, error.code, error.rawMessage);
        return;
      }
      if (first === undefined) return;
      stop();
      try {
        serve(routing, linked, stream, headers, routed, first, startedAt);
      } catch (err) {
        log.error("serving a linked call failed", { err, method: routed.path });
        endWithStatus(stream, Code.Internal, "router failed to serve the call");
      }
    };
    const onEnd = () => {
      stop();
      const error = reader.endedEarly();
      endWithStatus(stream, error.code, error.rawMessage);
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
    return true;
  };
}
