// RelayedCall over real loopback sockets: a node:http2 caller, our H2 server in front, a
// RelayedCall that sends every call to fixed addresses, and node:http2 gRPC-style upstreams.
import { createHash, randomBytes } from "node:crypto";
import { createServer as createHttp1Server } from "node:http";
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseGrpcTimeout } from "../forwarding/grpc-timeout";
import { createLogger } from "../log";
import { defaultServerLimits } from "../server-limits";
import { eventually } from "../test-support/eventually";
import { createH2ClientPool, type H2ClientPool } from "./client-pool";
import type { H2Stream } from "./connection";
import type { HeaderList } from "./hpack";
import { type AttemptFailure, RelayedCall } from "./relayed-call";
import { type H2Server, startH2Server } from "./server";
import { type NodeAnswer, postGrpc, readNodeAnswer } from "./test-support/node-client";

const logger = createLogger("relay-test", { level: "error" });
const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

function grpcFrame(payload: Buffer): Buffer {
  const out = Buffer.alloc(5 + payload.length);
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, 5);
  return out;
}

/** The payloads of a complete run of gRPC length-prefixed messages. */
function grpcMessages(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + 5 <= body.length) {
    const length = body.readUInt32BE(at + 1);
    out.push(body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  expect(at).toBe(body.length);
  return out;
}

/** How the relay in front treats the next calls. */
interface Route {
  addresses: string[];
  retry: boolean;
  deadlineMs?: number;
}

/** Sends each call to the first of its addresses not tried yet; retries when the route says. */
class FixedCall extends RelayedCall {
  readonly failures: AttemptFailure[] = [];
  readonly done: Promise<void>;
  private settle: () => void = () => {};

  constructor(
    down: H2Stream,
    pool: H2ClientPool,
    private readonly route: Route,
  ) {
    super(down, pool, performance.now());
    this.done = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  protected override pick(tried: readonly string[]): string | ConnectError {
    const next = this.route.addresses.find((a) => !tried.includes(a));
    return next ?? new ConnectError("no upstream left to try", Code.Unavailable);
  }

  protected override mayRetry(failure: AttemptFailure): boolean {
    this.failures.push(failure);
    return this.route.retry;
  }

  protected override onFinish(): void {
    this.settle();
  }
}

let pool: H2ClientPool;
let front: H2Server;
let route: Route = { addresses: [], retry: false };
let calls: FixedCall[] = [];
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  pool = createH2ClientPool({ logger, connectTimeoutMs: 2000 });
  front = await startH2Server({
    host: "127.0.0.1",
    port: 0,
    limits: defaultServerLimits,
    logger,
    onStream(stream, headers) {
      const call = new FixedCall(stream, pool, route);
      const upstreamHeaders: HeaderList = [];
      for (let i = 0; i < headers.length; i += 2) {
        if (headers[i] !== "grpc-timeout")
          upstreamHeaders.push(headers[i] as string, headers[i + 1] as string);
      }
      call.upstreamHeaders = upstreamHeaders;
      if (route.deadlineMs !== undefined) call.deadlineAt = call.startedAt + route.deadlineMs;
      calls.push(call);
      call.forward();
    },
  });
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  calls = [];
  route = { addresses: [], retry: false };
});

afterAll(async () => {
  await front.close(0);
  pool.close();
});

interface Upstream {
  address: string;
  /** Request headers of every stream it received. */
  requests: http2.IncomingHttpHeaders[];
}

async function startUpstream(
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
): Promise<Upstream> {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  const requests: http2.IncomingHttpHeaders[] = [];
  server.on("session", (session) => {
    sessions.add(session);
    session.on("error", () => {});
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    requests.push(headers);
    onStream(stream, headers);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    for (const session of sessions) session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** Reads the whole request, then calls `answer` with it. */
function afterRequest(stream: http2.ServerHttp2Stream, answer: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.on("end", () => answer(Buffer.concat(chunks)));
}

/** Answers each message with "pong:<message>", plus response metadata and trailers. */
function pong(stream: http2.ServerHttp2Stream): void {
  afterRequest(stream, (body) => {
    stream.respond(
      { ":status": 200, "content-type": "application/grpc", "x-response-meta": "from upstream" },
      { waitForTrailers: true },
    );
    stream.on("wantTrailers", () =>
      stream.sendTrailers({ "grpc-status": "0", "x-trailer-meta": "trailing" }),
    );
    stream.end(Buffer.concat(grpcMessages(body).map((m) => grpcFrame(Buffer.from(`pong:${m}`)))));
  });
}

function frame(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(id, 5);
  return Buffer.concat([header, payload]);
}

/**
 * An upstream written frame by frame: answers each request stream with response headers and one
 * message, then RST_STREAM INTERNAL_ERROR (node:http2 cannot reset a stream it has answered on
 * without ending it first).
 */
async function startResettingUpstream() {
  const headersType = 0x1;
  let streams = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.write(frame(0x4, 0, 0, Buffer.alloc(0)));
    let input = Buffer.alloc(0);
    let prefaceLeft = 24;
    socket.on("data", (chunk: Buffer) => {
      input = Buffer.concat([input, chunk]);
      const skip = Math.min(prefaceLeft, input.length);
      prefaceLeft -= skip;
      input = input.subarray(skip);
      while (input.length >= 9 && input.length >= 9 + input.readUIntBE(0, 3)) {
        const length = input.readUIntBE(0, 3);
        const type = input[3];
        const id = input.readUInt32BE(5) & 0x7fffffff;
        input = input.subarray(9 + length);
        if (type !== headersType) continue;
        streams++;
        // :status 200 (static index 8), then content-type as a literal with an indexed name (31).
        const block = Buffer.concat([
          Buffer.from([0x88, 0x0f, 31 - 15, 16]),
          Buffer.from("application/grpc"),
        ]);
        socket.write(frame(headersType, 0x4, id, block));
        socket.write(frame(0x0, 0, id, grpcFrame(Buffer.from("partial"))));
        const code = Buffer.alloc(4);
        code.writeUInt32BE(http2.constants.NGHTTP2_INTERNAL_ERROR);
        setTimeout(() => socket.write(frame(0x3, 0, id, code)), 50);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    streams: () => streams,
  };
}

/** A closed port on loopback: connecting to it is refused. */
async function closedAddress(): Promise<string> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

function connectCaller(): http2.ClientHttp2Session {
  const session = http2.connect(`http://127.0.0.1:${front.port}`);
  session.on("error", () => {});
  cleanups.push(() => session.destroy());
  return session;
}

function call(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders = {},
): http2.ClientHttp2Stream {
  return postGrpc(session, "/test.v1.Ping/Ping", { te: "trailers", ...headers });
}

/** One request message through the relay, read to the end. */
function unaryCall(text: string, headers: http2.OutgoingHttpHeaders = {}): Promise<NodeAnswer> {
  const request = call(connectCaller(), headers);
  const answer = readNodeAnswer(request);
  request.end(grpcFrame(Buffer.from(text)));
  return answer;
}

function closedWith(stream: http2.ServerHttp2Stream): Promise<number> {
  return new Promise((resolve) => stream.on("close", () => resolve(stream.rstCode)));
}

const trailersOnly = (code: number, message: string): http2.OutgoingHttpHeaders => ({
  ":status": 200,
  "content-type": "application/grpc",
  "grpc-status": String(code),
  "grpc-message": message,
});

describe("RelayedCall", () => {
  it("relays a unary call: metadata, response headers, message and trailers", async () => {
    const upstream = await startUpstream(pong);
    route = { addresses: [upstream.address], retry: false };
    const request = call(connectCaller(), { "x-caller-meta": "hello", "trace-bin": "AAEC" });
    const answer = readNodeAnswer(request);
    request.end(grpcFrame(Buffer.from("ping")));
    const { headers, body, trailers, status } = await answer;

    expect(headers[":status"]).toBe(200);
    expect(headers["x-response-meta"]).toBe("from upstream");
    expect(grpcMessages(body).map(String)).toEqual(["pong:ping"]);
    expect(status).toBe("0");
    expect(trailers["x-trailer-meta"]).toBe("trailing");
    expect(upstream.requests[0]).toMatchObject({
      ":path": "/test.v1.Ping/Ping",
      "x-caller-meta": "hello",
      "trace-bin": "AAEC",
    });
    const relayed = calls[0];
    await relayed?.done;
    expect(relayed?.code).toBe(0);
    expect(relayed?.messages).toBe(1);
    expect(relayed?.attempts).toBe(1);
    expect(relayed?.address).toBe(upstream.address);
  });

  it("passes a non-OK status and its message from the upstream unchanged", async () => {
    const upstream = await startUpstream((stream) =>
      afterRequest(stream, () =>
        stream.respond(trailersOnly(Code.NotFound, "no agent called ghost"), { endStream: true }),
      ),
    );
    route = { addresses: [upstream.address], retry: true };
    const { status, message } = await unaryCall("ping");
    expect(status).toBe(String(Code.NotFound));
    expect(message).toBe("no agent called ghost");
    expect(upstream.requests).toHaveLength(1);
  });

  describe("an upstream answering UNAVAILABLE first", () => {
    const draining = (stream: http2.ServerHttp2Stream) =>
      afterRequest(stream, () =>
        stream.respond(trailersOnly(Code.Unavailable, "instance is draining"), {
          endStream: true,
        }),
      );

    it("is retried on the next address when the call may be retried", async () => {
      const bodies: Buffer[] = [];
      const first = await startUpstream((stream) => {
        afterRequest(stream, (body) => bodies.push(body));
        draining(stream);
      });
      const second = await startUpstream((stream) => {
        afterRequest(stream, (body) => bodies.push(body));
        pong(stream);
      });
      route = { addresses: [first.address, second.address], retry: true };
      const { body, status } = await unaryCall("ping");

      expect(status).toBe("0");
      expect(grpcMessages(body).map(String)).toEqual(["pong:ping"]);
      // The second upstream got the same request, replayed.
      await eventually(() => bodies.length === 2, { what: "both upstreams to read the request" });
      expect(bodies[1]).toEqual(bodies[0]);
      expect(bodies[0]).toEqual(grpcFrame(Buffer.from("ping")));
      const relayed = calls[0];
      expect(relayed?.failures).toEqual([
        { kind: "unavailable", address: first.address, message: "instance is draining" },
      ]);
      expect(relayed?.attempts).toBe(2);
      expect(relayed?.address).toBe(second.address);
    });

    it("reaches the caller as UNAVAILABLE with the upstream's message when it may not", async () => {
      const first = await startUpstream(draining);
      const second = await startUpstream(pong);
      route = { addresses: [first.address, second.address], retry: false };
      const { status, message, body } = await unaryCall("ping");
      expect(status).toBe(String(Code.Unavailable));
      expect(message).toBe("instance is draining");
      expect(body.length).toBe(0);
      expect(second.requests).toHaveLength(0);
      expect(calls[0]?.attempts).toBe(1);
    });
  });

  it("ends the call with DEADLINE_EXCEEDED at its deadline and cancels the upstream stream", async () => {
    let upstreamClosed: Promise<number> | undefined;
    const upstream = await startUpstream((stream) => {
      // Reads the request and never answers.
      stream.resume();
      upstreamClosed = closedWith(stream);
    });
    route = { addresses: [upstream.address], retry: true, deadlineMs: 200 };
    const request = call(connectCaller());
    const started = performance.now();
    const answer = readNodeAnswer(request);
    request.end(grpcFrame(Buffer.from("ping")));
    const { status, message } = await answer;
    const took = performance.now() - started;

    expect(status).toBe(String(Code.DeadlineExceeded));
    expect(message).toBe("deadline exceeded");
    expect(took).toBeGreaterThanOrEqual(150);
    await eventually(() => upstreamClosed !== undefined, { what: "the upstream stream" });
    expect(await upstreamClosed).toBe(http2.constants.NGHTTP2_CANCEL);
    // The upstream was told how long it had.
    const timeout = parseGrpcTimeout(upstream.requests[0]?.["grpc-timeout"]);
    expect(timeout).toBeGreaterThan(0);
    expect(timeout).toBeLessThanOrEqual(200);
  });

  it("ends a response already under way with DEADLINE_EXCEEDED trailers", async () => {
    let upstreamClosed: Promise<number> | undefined;
    const upstream = await startUpstream((stream) => {
      upstreamClosed = closedWith(stream);
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
      stream.write(grpcFrame(Buffer.from("one update, then silence")));
    });
    route = { addresses: [upstream.address], retry: true, deadlineMs: 300 };
    const { headers, body, trailers } = await unaryCall("watch");
    expect(headers[":status"]).toBe(200);
    expect(grpcMessages(body).map(String)).toEqual(["one update, then silence"]);
    expect(trailers["grpc-status"]).toBe(String(Code.DeadlineExceeded));
    expect(trailers["grpc-message"]).toBe("deadline exceeded");
    await eventually(() => upstreamClosed !== undefined, { what: "the upstream stream" });
    expect(await upstreamClosed).toBe(http2.constants.NGHTTP2_CANCEL);
  });

  it("resets the upstream stream when the caller cancels mid-response", async () => {
    let upstreamClosed: Promise<number> | undefined;
    const upstream = await startUpstream((stream) => {
      upstreamClosed = closedWith(stream);
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
      stream.write(grpcFrame(Buffer.from("first of many")));
    });
    route = { addresses: [upstream.address], retry: true };
    const request = call(connectCaller());
    request.on("error", () => {});
    request.end(grpcFrame(Buffer.from("subscribe")));
    const first = await new Promise<Buffer>((resolve) => request.once("data", resolve));
    expect(grpcMessages(first).map(String)).toEqual(["first of many"]);
    request.close(http2.constants.NGHTTP2_CANCEL);

    await eventually(() => upstreamClosed !== undefined, { what: "the upstream stream" });
    expect(await upstreamClosed).toBe(http2.constants.NGHTTP2_CANCEL);
    const relayed = calls[0];
    await relayed?.done;
    expect(relayed?.code).toBe(Code.Canceled);
  });

  it("tries the next address when the first is unreachable", async () => {
    const unreachable = await closedAddress();
    const live = await startUpstream(pong);
    route = { addresses: [unreachable, live.address], retry: true };
    const { status, body } = await unaryCall("anyone there?");
    expect(status).toBe("0");
    expect(grpcMessages(body).map(String)).toEqual(["pong:anyone there?"]);
    const relayed = calls[0];
    expect(relayed?.failures.map((f) => [f.kind, f.address])).toEqual([["connect", unreachable]]);
    expect(relayed?.attempts).toBe(2);
  });

  it("skips an address no socket can be opened to, like an unreachable one", async () => {
    const live = await startUpstream(pong);
    route = { addresses: ["127.0.0.1:not-a-port", live.address], retry: true };
    const { status, body } = await unaryCall("bad entry first");
    expect(status).toBe("0");
    expect(grpcMessages(body).map(String)).toEqual(["pong:bad entry first"]);
    expect(calls[0]?.failures.map((f) => f.kind)).toEqual(["connect"]);
    expect(calls[0]?.failures[0]?.message).toContain(
      "cannot connect to upstream 127.0.0.1:not-a-port",
    );
  });

  it("tries the next address when the first does not speak HTTP/2", async () => {
    const http1 = createHttp1Server((_req, res) => res.end("hello from HTTP/1.1"));
    await new Promise<void>((resolve) => http1.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => {
      http1.closeAllConnections();
      return new Promise<void>((resolve) => http1.close(() => resolve()));
    });
    const wrong = `127.0.0.1:${(http1.address() as AddressInfo).port}`;
    const live = await startUpstream(pong);
    route = { addresses: [wrong, live.address], retry: true };
    const { status, body } = await unaryCall("ping");
    expect(status).toBe("0");
    expect(grpcMessages(body).map(String)).toEqual(["pong:ping"]);
    const failure = calls[0]?.failures[0];
    expect(failure?.kind).toBe("connect");
    expect(failure?.message).toContain("without speaking HTTP/2");
  });

  it("answers UNAVAILABLE naming the last failure when every address is unreachable", async () => {
    const [a, b] = await Promise.all([closedAddress(), closedAddress()]);
    route = { addresses: [a, b], retry: true };
    const { status, message } = await unaryCall("ping");
    expect(status).toBe(String(Code.Unavailable));
    expect(message).toBe(`upstream ${b} is unreachable; no upstream left to try`);
  });

  it("answers INTERNAL when the upstream ends a started response without a status", async () => {
    const upstream = await startUpstream((stream) => {
      stream.resume();
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
      stream.end(grpcFrame(Buffer.from("partial")));
    });
    route = { addresses: [upstream.address], retry: true };
    const { status, message, body } = await unaryCall("ping");
    expect(grpcMessages(body).map(String)).toEqual(["partial"]);
    expect(status).toBe(String(Code.Internal));
    expect(message).toBe(`upstream ${upstream.address} ended the call without a gRPC status`);
  });

  it("ends a started response with UNAVAILABLE when the upstream resets it", async () => {
    const upstream = await startResettingUpstream();
    route = { addresses: [upstream.address], retry: true };
    const { status, message, body } = await unaryCall("ping");
    expect(grpcMessages(body).map(String)).toEqual(["partial"]);
    expect(status).toBe(String(Code.Unavailable));
    expect(message).toBe(`upstream ${upstream.address} reset the call (INTERNAL_ERROR)`);
    // A response already under way is never retried.
    expect(upstream.streams()).toBe(1);
    expect(calls[0]?.attempts).toBe(1);
  });

  it("relays 200 messages of 64 KiB intact, holding the upstream back while the caller waits", async () => {
    const count = 200;
    const messages = Array.from({ length: count }, () => randomBytes(64 * 1024));
    let written = 0;
    const upstream = await startUpstream((stream) => {
      stream.resume();
      stream.respond(
        { ":status": 200, "content-type": "application/grpc" },
        { waitForTrailers: true },
      );
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      const pump = () => {
        while (written < count) {
          const frame = grpcFrame(messages[written] as Buffer);
          written++;
          if (written === count) {
            stream.end(frame);
            return;
          }
          if (!stream.write(frame)) {
            stream.once("drain", pump);
            return;
          }
        }
      };
      pump();
    });
    route = { addresses: [upstream.address], retry: true };
    const request = call(connectCaller());
    request.end(grpcFrame(Buffer.from("stream please")));
    await eventually(() => written > 0, { what: "the upstream to start" });
    await new Promise((r) => setTimeout(r, 500));
    // The caller has read nothing: the upstream got about one stream window ahead, no more.
    const writtenWhileWaiting = written;
    expect(writtenWhileWaiting).toBeLessThan(30);

    const { body, status } = await readNodeAnswer(request);
    expect(status).toBe("0");
    const got = grpcMessages(body);
    expect(got).toHaveLength(count);
    expect(sha256(Buffer.concat(got))).toBe(sha256(Buffer.concat(messages)));
    const relayed = calls[0];
    await relayed?.done;
    expect(relayed?.messages).toBe(count);
  });

  it("relays a 4 MiB client-streamed upload intact under flow control", async () => {
    const upstream = await startUpstream((stream) =>
      afterRequest(stream, (body) => {
        const digest = createHash("sha256");
        for (const message of grpcMessages(body)) digest.update(message);
        stream.respond(
          { ":status": 200, "content-type": "application/grpc" },
          { waitForTrailers: true },
        );
        stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
        stream.end(grpcFrame(Buffer.from(digest.digest("hex"))));
      }),
    );
    route = { addresses: [upstream.address], retry: true };
    const parts = Array.from({ length: 64 }, () => randomBytes(64 * 1024));
    const request = call(connectCaller());
    const answer = readNodeAnswer(request);
    request.end(Buffer.concat(parts.map(grpcFrame)));
    const { status, body } = await answer;
    expect(status).toBe("0");
    expect(grpcMessages(body).map(String)).toEqual([sha256(Buffer.concat(parts))]);
  });
});
