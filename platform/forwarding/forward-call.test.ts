// How forwardCall classifies an upstream that ends a call before sending any response header:
// UNAVAILABLE naming the upstream, and a failure kind that says whether a retry is safe.
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { grpcFrame, quietLogger, rawGrpcCall } from "../../router/test-support/cluster";
import { selfSignedTls } from "../../router/test-support/self-signed-tls";
import { type GrpcServer, startGrpcServer } from "../grpc-server";
import { type AttemptFailure, forwardCall } from "./forward-call";
import { createUpstreamPool, type UpstreamPool } from "./upstream-pool";

type Behaviour = "answer" | "reset" | "drop";

/** A raw HTTP/2 upstream: answers OK, resets each stream with NO_ERROR, or drops the connection. */
async function startUpstream(behaviour: Behaviour, tls = false) {
  const onStream = (stream: http2.ServerHttp2Stream) => {
    stream.on("error", () => {});
    stream.resume();
    stream.on("end", () => {
      if (behaviour === "reset") stream.close(http2.constants.NGHTTP2_NO_ERROR);
      else if (behaviour === "drop") stream.session?.destroy();
      else {
        stream.respond(
          { ":status": 200, "content-type": "application/grpc" },
          {
            waitForTrailers: true,
          },
        );
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(grpcFrame(Buffer.from("ok")));
      }
    });
  };
  const server = tls ? http2.createSecureServer({ ...selfSignedTls() }) : http2.createServer();
  server.on("stream", onStream);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

type Upstream = Awaited<ReturnType<typeof startUpstream>>;

let good: Upstream;
let tlsOnly: Upstream;
let resetting: Upstream;
let dropping: Upstream;
let pool: UpstreamPool;
let proxy: GrpcServer | undefined;

beforeAll(async () => {
  [good, tlsOnly, resetting, dropping] = await Promise.all([
    startUpstream("answer"),
    startUpstream("answer", true),
    startUpstream("reset"),
    startUpstream("drop"),
  ]);
  // Plaintext (h2c) to every upstream.
  pool = createUpstreamPool({ logger: quietLogger });
});

afterEach(async () => {
  await proxy?.close(0);
  proxy = undefined;
});

afterAll(async () => {
  pool.close();
  await Promise.all([good, tlsOnly, resetting, dropping].map((u) => u?.close()));
});

/**
 * A proxy that tries `first`, then (when `retry` allows) the good upstream; returns the
 * caller's answer and the failure the proxy was asked to retry.
 */
async function callThrough(first: Upstream, retry: boolean) {
  const failures: AttemptFailure[] = [];
  proxy = await startGrpcServer({
    routes: () => {},
    rawHandler: (req, res) => {
      forwardCall({
        res,
        headers: req.headers,
        pool,
        startedAt: performance.now(),
        deadlineAt: undefined,
        pick: (tried) => [first.address, good.address][tried.length] ?? first.address,
        mayRetry(failure) {
          failures.push(failure);
          return retry;
        },
      });
      return true;
    },
    logger: quietLogger,
  });
  const answer = await rawGrpcCall(proxy.address, "/test.Echo/Call", grpcFrame(Buffer.from("x")));
  return { answer, failures };
}

describe("an upstream that sends no response header", () => {
  it("a TLS-only upstream dialled in plaintext: UNAVAILABLE, and safe to retry (nothing ran)", async () => {
    const refused = await callThrough(tlsOnly, false);
    expect(refused.answer.status).toBe(14); // UNAVAILABLE
    expect(refused.answer.message).toContain(`upstream ${tlsOnly.address} closed the connection`);
    expect(refused.answer.message).toContain("TLS");
    expect(refused.failures.map((f) => f.kind)).toEqual(["connect"]);

    const retried = await callThrough(tlsOnly, true);
    expect(retried.answer.status).toBe(0);
    expect(retried.answer.body.subarray(5).toString()).toBe("ok");
  });

  it("a stream reset before headers: UNAVAILABLE naming the upstream, retried only when allowed", async () => {
    const refused = await callThrough(resetting, false);
    expect(refused.answer.status).toBe(14);
    expect(refused.answer.message).toBe(
      `upstream ${resetting.address} reset the call before answering (RST_STREAM NO_ERROR)`,
    );
    // The request reached the upstream: a reset is retried only for idempotent methods.
    expect(refused.failures.map((f) => f.kind)).toEqual(["reset"]);
    expect((await callThrough(resetting, true)).answer.status).toBe(0);
  });

  it("a connection dropped before headers: UNAVAILABLE saying so", async () => {
    const refused = await callThrough(dropping, false);
    expect(refused.answer.status).toBe(14);
    expect(refused.answer.message).toBe(
      `upstream ${dropping.address} dropped the connection before answering`,
    );
    expect(refused.failures.map((f) => f.kind)).toEqual(["reset"]);
  });
});
