// Many gRPC calls at once from a cheap client (node:http2, one request encoded once), for
// overload tests and the burst benchmark: what each call ended with, and when.
import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { TaskRequestSchema } from "../../gen/agentplatform/v1/platform_pb";
import { grpcFrame } from "./cluster";

export interface Answer {
  code: number;
  startedAt: number;
  endedAt: number;
  pushbackMs: number | undefined;
  /** grpc-message, decoded. */
  message: string;
}

/** Status of a call that ended without one: reset (REFUSED_STREAM, say) before any answer. */
export const noStatus = -1;

/** The burst's method, and its one request, encoded once. */
export const burstPath = "/agentplatform.v1.AgentService/ExecuteTask";
export const burstBody = (): Buffer =>
  grpcFrame(
    toBinary(
      TaskRequestSchema,
      create(TaskRequestSchema, { agentId: "echo-agent", input: "burst" }),
    ),
  );

/**
 * What a call ended with, from its response fields (`field`: headers or trailers, by name);
 * `missing` is its code when no grpc-status came.
 */
export function answerOf(
  field: (name: string) => string | undefined,
  missing: number,
  startedAt: number,
): Answer {
  const status = field("grpc-status");
  const pushback = field("grpc-retry-pushback-ms");
  return {
    code: status !== undefined ? Number(status) : missing,
    startedAt,
    endedAt: performance.now(),
    pushbackMs: pushback === undefined ? undefined : Number(pushback),
    message: decodeURIComponent(field("grpc-message") ?? ""),
  };
}

/**
 * Sends `n` ExecuteTask calls at once (node:http2, so the client costs far less than the
 * platform it measures), spread over enough connections that the front door's stream limit
 * (GRPC_MAX_CONCURRENT_STREAMS, 256) takes them all, and reads each grpc-status.
 */
export async function rawBurst(address: string, n: number, timeoutMs: number): Promise<Answer[]> {
  const perSession = 250;
  const sessions = await Promise.all(
    Array.from(
      { length: Math.ceil(n / perSession) },
      () =>
        new Promise<http2.ClientHttp2Session>((resolve, reject) => {
          const session = http2.connect(`http://${address}`);
          session.once("remoteSettings", () => resolve(session));
          session.once("error", reject);
        }),
    ),
  );
  const body = burstBody();
  const one = (i: number): Promise<Answer> =>
    new Promise((resolve) => {
      const startedAt = performance.now();
      const session = sessions[Math.floor(i / perSession)] as http2.ClientHttp2Session;
      const stream = session.request({
        ":method": "POST",
        ":path": burstPath,
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-timeout": `${timeoutMs}m`,
      });
      let headers: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      let expired = false;
      stream.on("response", (h) => {
        headers = h;
      });
      stream.on("trailers", (t) => {
        trailers = t;
      });
      stream.on("data", () => {});
      stream.on("error", () => {});
      // The caller's own deadline, as a gRPC client enforces it.
      const timer = setTimeout(() => {
        expired = true;
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }, timeoutMs);
      stream.on("close", () => {
        clearTimeout(timer);
        const field = (name: string) => {
          const value = trailers[name] ?? headers[name];
          return value === undefined ? undefined : String(value);
        };
        resolve(answerOf(field, expired ? Code.DeadlineExceeded : noStatus, startedAt));
      });
      stream.end(body);
    });
  try {
    return await Promise.all(Array.from({ length: n }, (_, i) => one(i)));
  } finally {
    for (const session of sessions) session.close();
  }
}
