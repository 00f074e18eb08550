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
import { serveLinkedStream } from "../linked-call";
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

  const result = await serveLinkedStream<ExecResponse>(
    down,
    call.deadlineAt,
    startedAt,
    (message) => toBinary(ExecResponseSchema, message),
    async (ctx, send) => {
      for await (const message of linked.exec(service, request, { ...ctx, subject: call.subject }))
        await send(message);
    },
  );
  return { code: result.code, messages: result.messages, firstMessageMs: result.firstMessageMs };
}
