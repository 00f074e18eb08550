// Serves ExecService.Exec for a dial-in agent linked to this router: the request is decoded and
// checked, handed to the link, and its output framed back to the caller as gRPC. A write the
// caller cannot take yet holds the next message back, and with it the credit the agent runs on.
import type { ServerHttp2Stream } from "node:http2";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type ExecRequest,
  ExecRequestSchema,
  type ExecResponse,
  ExecResponseSchema,
} from "../../gen/agentplatform/v1/exec_pb";
import { endWithStatus } from "../../platform/forwarding/grpc-status";
import type { LinkedAgents } from "./linked-agents";

export interface LinkedExecCall {
  /** The caller's stream. */
  res: ServerHttp2Stream;
  linked: LinkedAgents;
  service: string;
  payload: Uint8Array;
  /** Absolute deadline on the performance.now() clock, or undefined. */
  deadlineAt: number | undefined;
  /** The caller's token subject, for the audit. */
  subject: string;
}

export interface LinkedExecResult {
  code: number;
  messages: number;
  firstMessageMs: number | undefined;
}

const maxExecIdLength = 128;

function frame(message: ExecResponse): Buffer {
  const body = toBinary(ExecResponseSchema, message);
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

function decode(payload: Uint8Array): ExecRequest | ConnectError {
  let request: ExecRequest;
  try {
    request = fromBinary(ExecRequestSchema, payload);
  } catch (err) {
    return new ConnectError(
      `malformed ExecRequest: ${err instanceof Error ? err.message : String(err)}`,
      Code.InvalidArgument,
    );
  }
  if (request.command === "") {
    return new ConnectError("command is required", Code.InvalidArgument);
  }
  if (request.execId.length > maxExecIdLength) {
    return new ConnectError(`exec_id is longer than ${maxExecIdLength}`, Code.InvalidArgument);
  }
  return request;
}

export async function serveLinkedExec(call: LinkedExecCall): Promise<LinkedExecResult> {
  const { res: down, linked, service } = call;
  const startedAt = performance.now();
  const request = decode(call.payload);
  if (request instanceof ConnectError) {
    endWithStatus(down, request.code, request.rawMessage);
    return { code: request.code, messages: 0, firstMessageMs: undefined };
  }

  const abort = new AbortController();
  const onGone = () => abort.abort(new ConnectError("caller cancelled", Code.Canceled));
  down.once("close", onGone);
  let timer: NodeJS.Timeout | undefined;
  if (call.deadlineAt !== undefined) {
    timer = setTimeout(
      () => abort.abort(new ConnectError("deadline exceeded", Code.DeadlineExceeded)),
      Math.max(0, call.deadlineAt - performance.now()),
    );
  }
  const ctx = {
    signal: abort.signal,
    deadlineMs:
      call.deadlineAt === undefined
        ? undefined
        : Date.now() + (call.deadlineAt - performance.now()),
    subject: call.subject,
  };
  let messages = 0;
  let firstMessageMs: number | undefined;
  const send = async (message: ExecResponse) => {
    if (abort.signal.aborted) throw abort.signal.reason;
    if (!down.headersSent) {
      down.respond(
        { ":status": 200, "content-type": "application/grpc" },
        { waitForTrailers: true },
      );
    }
    firstMessageMs ??= performance.now() - startedAt;
    messages++;
    if (!down.write(frame(message))) {
      // Both listeners go once either fires: a long stream waits for drain many times.
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
    for await (const message of linked.exec(service, request, ctx)) await send(message);
    if (abort.signal.aborted) throw abort.signal.reason;
    endWithStatus(down, 0, "");
    return { code: 0, messages, firstMessageMs };
  } catch (err) {
    const error = ConnectError.from(abort.signal.aborted ? abort.signal.reason : err);
    endWithStatus(down, error.code, error.rawMessage);
    return { code: error.code, messages, firstMessageMs };
  } finally {
    if (timer) clearTimeout(timer);
    down.off("close", onGone);
  }
}
