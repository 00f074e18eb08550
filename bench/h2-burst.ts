// The burst of router/test-support/raw-burst.ts sent with the platform's own HTTP/2 client
// (platform/h2) instead of node:http2: it costs the client several times less per call, so the
// "refused in" figures show more of the platform and less of the client's event loop. The tests
// keep node:http2, a client written by somebody else.
import { Code } from "@connectrpc/connect";
import { createH2ClientPool } from "../platform/h2/client-pool";
import type { H2Stream, H2StreamHandler } from "../platform/h2/connection";
import type { HeaderList } from "../platform/h2/hpack";
import { createLogger } from "../platform/log";
import {
  type Answer,
  answerOf,
  burstBody,
  burstPath,
  noStatus,
} from "../router/test-support/raw-burst";

const cancel = 0x8;

/** Sends `n` ExecuteTask calls at once through platform/h2 and reads each grpc-status. */
export async function h2Burst(address: string, n: number, timeoutMs: number): Promise<Answer[]> {
  const pool = createH2ClientPool({
    logger: createLogger("burst", { level: "error" }),
    pingIntervalMs: 0,
    activePingIntervalMs: 0,
  });
  const body = burstBody();
  const headers: HeaderList = [
    ":method",
    "POST",
    ":scheme",
    "http",
    ":authority",
    address,
    ":path",
    burstPath,
    "content-type",
    "application/grpc",
    "te",
    "trailers",
    "grpc-timeout",
    `${timeoutMs}m`,
  ];
  const one = (): Promise<Answer> =>
    new Promise((resolve) => {
      const startedAt = performance.now();
      const fields = new Map<string, string>();
      let timer: NodeJS.Timeout | undefined;
      let done = false;
      const end = (code: number | undefined, stream?: H2Stream, reset = false) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (reset) stream?.reset(cancel);
        const answer = answerOf((name) => fields.get(name), noStatus, startedAt);
        resolve(code === undefined ? answer : { ...answer, code });
      };
      const handler: H2StreamHandler = {
        onHeaders(_stream, list, endStream) {
          for (let i = 0; i + 1 < list.length; i += 2) {
            fields.set(list[i] as string, list[i + 1] as string);
          }
          if (endStream) end(undefined);
        },
        onData(stream, data, endStream) {
          stream.consume(data.length);
          if (endStream) end(undefined);
        },
        onAbort: () => end(noStatus),
        onDrain() {},
      };
      const stream = pool.connection(address).openStream(handler, headers, false);
      stream.sendData(body, true);
      // The caller's own deadline, as a gRPC client enforces it.
      timer = setTimeout(() => end(Code.DeadlineExceeded, stream, true), timeoutMs);
    });
  try {
    return await Promise.all(Array.from({ length: n }, one));
  } finally {
    pool.close();
  }
}
