// Serves ExecuteTask / StreamTask for a dial-in agent linked to this router: the request is
// decoded and handed to the link, and its answers are framed back as gRPC.
import type { ServerHttp2Stream } from "node:http2";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type TaskRequest,
  TaskRequestSchema,
  type TaskResponse,
  TaskResponseSchema,
} from "../gen/agentplatform/v1/platform_pb";
import { endWithStatus } from "../platform/forwarding/grpc-status";
import type { LinkedAgents } from "./agent-link/linked-agents";

export interface LinkedCall {
  /** The caller's stream. */
  res: ServerHttp2Stream;
  linked: LinkedAgents;
  service: string;
  payload: Uint8Array;
  streaming: boolean;
  /** Absolute deadline on the performance.now() clock, or undefined. */
  deadlineAt: number | undefined;
  /** W3C trace context of the call (traceparent, tracestate) passed on to the agent. */
  traceContext?: Record<string, string> | undefined;
}

export interface LinkedCallResult {
  code: number;
  message: string;
  messages: number;
  firstMessageMs: number | undefined;
}

/** What a linked call's producer gets: the caller's cancel and deadline. */
export interface LinkedStreamContext {
  signal: AbortSignal;
  /** The caller's deadline, milliseconds since the Unix epoch, or undefined. */
  deadlineMs: number | undefined;
}

function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

/**
 * Serves one call on the caller's stream: `produce` sends answers through `send`, each framed as
 * gRPC with `encode`; the caller going away or its deadline passing aborts `produce`, and the
 * call ends with the status of how it ended. A write the caller cannot take yet holds the next
 * one back.
 */
export async function serveLinkedStream<T>(
  down: ServerHttp2Stream,
  deadlineAt: number | undefined,
  startedAt: number,
  encode: (message: T) => Uint8Array,
  produce: (ctx: LinkedStreamContext, send: (message: T) => Promise<void>) => Promise<void>,
): Promise<LinkedCallResult> {
  const abort = new AbortController();
  const onGone = () => abort.abort(new ConnectError("caller cancelled", Code.Canceled));
  down.once("close", onGone);
  let timer: NodeJS.Timeout | undefined;
  if (deadlineAt !== undefined) {
    timer = setTimeout(
      () => abort.abort(new ConnectError("deadline exceeded", Code.DeadlineExceeded)),
      Math.max(0, deadlineAt - performance.now()),
    );
  }
  const ctx: LinkedStreamContext = {
    signal: abort.signal,
    deadlineMs:
      deadlineAt === undefined ? undefined : Date.now() + (deadlineAt - performance.now()),
  };
  let messages = 0;
  let firstMessageMs: number | undefined;
  const send = async (message: T) => {
    if (abort.signal.aborted) throw abort.signal.reason;
    if (!down.headersSent) {
      down.respond(
        { ":status": 200, "content-type": "application/grpc" },
        { waitForTrailers: true },
      );
    }
    firstMessageMs ??= performance.now() - startedAt;
    messages++;
    if (!down.write(frame(encode(message)))) {
      // Both listeners go once either fires: a long stream to a slow caller waits many times.
      await new Promise<void>((resolve) => {
        const done = () => {
          down.off("drain", done);
          abort.signal.removeEventListener("abort", done);
          resolve();
        };
        down.once("drain", done);
        abort.signal.addEventListener("abort", done, { once: true });
      });
    }
  };

  try {
    await produce(ctx, send);
    if (abort.signal.aborted) throw abort.signal.reason;
    endWithStatus(down, 0, "");
    return { code: 0, message: "", messages, firstMessageMs };
  } catch (err) {
    const error = ConnectError.from(abort.signal.aborted ? abort.signal.reason : err);
    endWithStatus(down, error.code, error.rawMessage);
    return { code: error.code, message: error.rawMessage, messages, firstMessageMs };
  } finally {
    if (timer) clearTimeout(timer);
    down.off("close", onGone);
  }
}

export async function serveLinkedCall(call: LinkedCall): Promise<LinkedCallResult> {
  const { res: down, linked, service } = call;
  const startedAt = performance.now();
  let request: TaskRequest;
  try {
    request = fromBinary(TaskRequestSchema, call.payload);
  } catch (err) {
    const message = `malformed TaskRequest: ${err instanceof Error ? err.message : String(err)}`;
    endWithStatus(down, Code.InvalidArgument, message);
    return { code: Code.InvalidArgument, message, messages: 0, firstMessageMs: undefined };
  }
  return serveLinkedStream<TaskResponse>(
    down,
    call.deadlineAt,
    startedAt,
    (message) => toBinary(TaskResponseSchema, message),
    async (stream, send) => {
      const ctx = { ...stream, traceContext: call.traceContext };
      if (call.streaming) {
        for await (const message of linked.streamTask(service, request, ctx)) await send(message);
      } else {
        await send(await linked.executeTask(service, request, ctx));
      }
    },
  );
}
