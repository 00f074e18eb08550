// H2Connection over real loopback sockets: as a server (through startH2Server) against node:http2
// clients and against raw sockets writing hand-built frames, and as a client (through
// createH2ClientPool) against node:http2 servers and peers that never speak HTTP/2.
import { createHash, randomBytes } from "node:crypto";
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../log";
import { defaultServerLimits, type ServerLimits } from "../server-limits";
import { eventually } from "../test-support/eventually";
import { createH2ClientPool, type H2ClientPool } from "./client-pool";
import type { H2Connection, H2Stream, H2StreamHandler, StreamAbortReason } from "./connection";
import {
  CONTINUATION,
  clientPreface,
  DATA,
  ErrorCode,
  FLAG_ACK,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  GOAWAY,
  HEADERS,
  PING,
  RST_STREAM,
  SETTINGS,
} from "./frames";
import type { HeaderList } from "./hpack";
import { startH2Server } from "./server";
import { postGrpc, readNodeAnswer } from "./test-support/node-client";

const logger = createLogger("h2-test", { level: "error" });

/** Everything a test starts, stopped after it in reverse order. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

function limitsWith(overrides: Partial<ServerLimits>): ServerLimits {
  return { ...defaultServerLimits, ...overrides };
}

type StreamCallback = (
  stream: H2Stream,
  headers: HeaderList,
  endStream: boolean,
  headerBytes: number,
) => void;

async function serve(onStream: StreamCallback, limits: Partial<ServerLimits> = {}) {
  const server = await startH2Server({
    host: "127.0.0.1",
    port: 0,
    limits: limitsWith(limits),
    onStream,
    logger,
  });
  cleanups.push(() => server.close(0));
  return server;
}

function connectNode(server: { port: number }, options: http2.ClientSessionOptions = {}) {
  const session = http2.connect(`http://127.0.0.1:${server.port}`, options);
  session.on("error", () => {});
  cleanups.push(() => session.destroy());
  return session;
}

/** The first value of `name` in a header list. */
function fieldValue(list: HeaderList, name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}

/** Request headers the server received, per stream, in arrival order. */
let received: HeaderList[] = [];
/** Request bytes the echo handler has been handed so far. */
let receivedBytes = 0;

/**
 * Answers every request with response headers (its metadata echoed as "echo-<name>"), its data
 * back, then trailers. Receive window is given back only once the echoed bytes have left, so a
 * client that stops reading also stops its own upload.
 */
function echo(stream: H2Stream, headers: HeaderList, endStream: boolean): void {
  received.push(headers);
  const response: HeaderList = [":status", "200", "content-type", "application/grpc"];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (!name.startsWith(":")) response.push(`echo-${name}`, headers[i + 1] as string);
  }
  stream.sendHeaders(response, false);
  let held = 0;
  const finish = (s: H2Stream) =>
    s.sendTrailers(["grpc-status", "0", "grpc-message", "echoed", "x-trailer", "last"]);
  stream.handler = {
    onHeaders(s, _headers, end) {
      if (end) finish(s);
    },
    onData(s, data, end) {
      receivedBytes += data.length;
      if (data.length > 0) {
        if (s.sendData(data, false)) s.consume(data.length);
        else held += data.length;
      }
      if (end) finish(s);
    },
    onAbort() {},
    onDrain(s) {
      s.consume(held);
      held = 0;
    },
  };
  if (endStream) finish(stream);
}

afterEach(() => {
  received = [];
  receivedBytes = 0;
});

function post(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders = {},
): http2.ClientHttp2Stream {
  return postGrpc(session, "/test.v1.Echo/Call", headers);
}

// --- raw peers ---

interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)) {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(id, 5);
  return Buffer.concat([header, payload]);
}

/** A header block of literal fields without indexing or Huffman (RFC 7541 6.2.2). */
function literalBlock(fields: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    parts.push(Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]));
    parts.push(Buffer.from(value));
  }
  return Buffer.concat(parts);
}

const requestBlock = (path = "/test.v1.Echo/Call") =>
  literalBlock([
    [":method", "POST"],
    [":scheme", "http"],
    [":path", path],
    [":authority", "localhost"],
    ["content-type", "application/grpc"],
  ]);

/**
 * A TCP peer that writes whatever bytes a test gives it and parses the frames it gets back;
 * with `answerPings` it acknowledges PINGs as every real HTTP/2 client does.
 */
class RawPeer {
  readonly frames: Frame[] = [];
  closed = false;
  closedAt = 0;
  private input = Buffer.alloc(0);
  private readonly watchers = new Set<() => void>();

  constructor(
    readonly socket: net.Socket,
    private readonly answerPings = false,
  ) {
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.closedAt = performance.now();
      this.notify();
    });
  }

  static async connect(port: number, answerPings = false): Promise<RawPeer> {
    const socket = net.connect(port, "127.0.0.1");
    cleanups.push(() => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new RawPeer(socket, answerPings);
  }

  send(...parts: Buffer[]): void {
    this.socket.write(Buffer.concat(parts));
  }

  /** The preface and an empty SETTINGS frame: an HTTP/2 client with every default. */
  greet(): void {
    this.send(clientPreface, frame(SETTINGS, 0, 0));
  }

  /** The first frame (received already or still to come) that `match` accepts. */
  waitFor(match: (f: Frame) => boolean, what: string, timeoutMs = 5000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.frames.find(match);
        if (found !== undefined) done(() => resolve(found));
        else if (this.closed) done(() => reject(new Error(`closed before ${what}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no ${what}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.watchers.delete(check);
        settle();
      };
      this.watchers.add(check);
      check();
    });
  }

  waitClosed(timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.closed) return;
        clearTimeout(timer);
        this.watchers.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.watchers.delete(check);
        reject(new Error("connection still open"));
      }, timeoutMs);
      this.watchers.add(check);
      check();
    });
  }

  goaway(): Promise<{ lastStreamId: number; code: number }> {
    return this.waitFor((f) => f.type === GOAWAY, "GOAWAY").then((f) => ({
      lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff,
      code: f.payload.readUInt32BE(4),
    }));
  }

  private receive(chunk: Buffer): void {
    this.input = Buffer.concat([this.input, chunk]);
    while (this.input.length >= 9) {
      const length = this.input.readUIntBE(0, 3);
      if (this.input.length < 9 + length) break;
      const f: Frame = {
        type: this.input[3] as number,
        flags: this.input[4] as number,
        id: this.input.readUInt32BE(5) & 0x7fffffff,
        payload: this.input.subarray(9, 9 + length),
      };
      this.input = this.input.subarray(9 + length);
      this.frames.push(f);
      if (this.answerPings && f.type === PING && (f.flags & FLAG_ACK) === 0) {
        this.send(frame(PING, FLAG_ACK, 0, f.payload));
      }
    }
    this.notify();
  }

  private notify(): void {
    for (const watcher of [...this.watchers]) watcher();
  }
}

describe("server role, node:http2 client", () => {
  it("delivers many request headers intact and returns response headers, data and trailers", async () => {
    const server = await serve(echo);
    const session = connectNode(server);
    const metadata: http2.OutgoingHttpHeaders = {
      "trace-bin": randomBytes(24).toString("base64"),
      "x-long": "v".repeat(3000),
      authorization: "Bearer abc.def.ghi",
    };
    for (let i = 0; i < 40; i++)
      metadata[`x-meta-${i}`] = `value-${i}-${randomBytes(4).toString("hex")}`;
    const request = post(session, metadata);
    const answer = readNodeAnswer(request);
    request.end(Buffer.from("hello over h2"));
    const { headers, body, trailers } = await answer;

    const got = received[0] ?? [];
    const pseudo = new Map<string, string>();
    for (let i = 0; i < got.length; i += 2) {
      if (got[i]?.startsWith(":")) pseudo.set(got[i] as string, got[i + 1] as string);
    }
    expect(Object.fromEntries(pseudo)).toEqual({
      ":method": "POST",
      ":authority": `127.0.0.1:${server.port}`,
      ":scheme": "http",
      ":path": "/test.v1.Echo/Call",
    });
    // Metadata as sent: 3 + 40 fields, then nothing but content-type.
    expect(got.length).toBe(2 * (pseudo.size + 44));
    for (const [name, value] of Object.entries(metadata)) {
      expect(fieldValue(got, name), name).toBe(value);
      expect(headers[`echo-${name}`], `echo-${name}`).toBe(value);
    }
    expect(headers[":status"]).toBe(200);
    expect(headers["content-type"]).toBe("application/grpc");
    expect(body.toString()).toBe("hello over h2");
    expect(trailers).toMatchObject({
      "grpc-status": "0",
      "grpc-message": "echoed",
      "x-trailer": "last",
    });
  });

  it("serves many requests in a row on one connection, the dynamic table in use both ways", async () => {
    const server = await serve(echo);
    const session = connectNode(server);
    for (let i = 0; i < 40; i++) {
      const request = post(session, {
        "x-tenant": "acme-corporation",
        "x-request-id": `request-${i}`,
        // A new name now and then, so entries are added and evicted as the calls go on.
        [`x-field-${i % 7}`]: `field-value-${i}`,
      });
      const answer = readNodeAnswer(request);
      request.end(Buffer.from(`body ${i}`));
      const { headers, body, trailers } = await answer;
      expect(headers["echo-x-request-id"]).toBe(`request-${i}`);
      expect(headers["echo-x-tenant"]).toBe("acme-corporation");
      expect(headers[`echo-x-field-${i % 7}`]).toBe(`field-value-${i}`);
      expect(body.toString()).toBe(`body ${i}`);
      expect(trailers["grpc-status"]).toBe("0");
    }
    expect(received).toHaveLength(40);
    expect(server.connectionCount()).toBe(1);
    // Both encoders index what repeats: the client's table holds entries ours added, and ours
    // decoded the client's indexed fields correctly (checked above).
    expect(session.state.inflateDynamicTableSize ?? 0).toBeGreaterThan(0);
    expect(session.state.deflateDynamicTableSize ?? 0).toBeGreaterThan(0);
  });

  it("carries header blocks larger than one frame (CONTINUATION) both ways", async () => {
    const server = await serve(echo);
    const session = connectNode(server);
    // Random base64 does not compress: each value needs more than one 16 KiB frame on its own.
    const big = randomBytes(15_000).toString("base64");
    const request = post(session, { "x-big": big, "x-after": "still here" });
    const answer = readNodeAnswer(request);
    request.end(Buffer.from("small body"));
    const { headers, body, trailers } = await answer;
    const got = received[0] ?? [];
    expect(fieldValue(got, "x-big")).toBe(big);
    expect(fieldValue(got, "x-after")).toBe("still here");
    expect(headers["echo-x-big"]).toBe(big);
    expect(headers["echo-x-after"]).toBe("still here");
    expect(body.toString()).toBe("small body");
    expect(trailers["grpc-status"]).toBe("0");
  });

  it("echoes 8 MiB intact through a 64 KiB client window", async () => {
    const server = await serve(echo);
    const session = connectNode(server, { settings: { initialWindowSize: 65_535 } });
    const upload = randomBytes(8 * 1024 * 1024);
    const request = post(session);
    const answer = readNodeAnswer(request);
    request.end(upload);
    const { body, trailers } = await answer;
    expect(body.length).toBe(upload.length);
    expect(sha256(body)).toBe(sha256(upload));
    expect(trailers["grpc-status"]).toBe("0");
  });

  it("holds the client's upload back while the client does not read the echo", async () => {
    const server = await serve(echo);
    const session = connectNode(server, { settings: { initialWindowSize: 65_535 } });
    const upload = randomBytes(8 * 1024 * 1024);
    const request = post(session);
    request.on("error", () => {});
    request.end(upload);
    await eventually(() => receivedBytes > 0, { what: "the first request bytes" });
    await new Promise((r) => setTimeout(r, 500));
    // About our 1 MiB stream window (what was echoed into the 64 KiB client window is not
    // enough to earn a WINDOW_UPDATE): far from 8 MiB.
    const whileNotReading = receivedBytes;
    expect(whileNotReading).toBeLessThan(1.5 * 1024 * 1024);

    const answer = readNodeAnswer(request);
    const { body } = await answer;
    expect(sha256(body)).toBe(sha256(upload));
    expect(receivedBytes).toBe(upload.length);
  });

  it("refuses streams beyond maxConcurrentStreams and completes the others", async () => {
    const server = await serve(echo, { maxConcurrentStreams: 2 });
    const session = connectNode(server);
    // Opened before the server's SETTINGS can arrive, so the client does not hold the third back.
    const requests = [post(session), post(session), post(session)];
    const answers = requests.map((r) => readNodeAnswer(r));
    const third = await answers[2];
    expect(third?.rstCode).toBe(ErrorCode.REFUSED_STREAM);
    expect(third?.headers[":status"]).toBeUndefined();
    requests[0]?.end(Buffer.from("one"));
    requests[1]?.end(Buffer.from("two"));
    const [first, second] = await Promise.all([answers[0], answers[1]]);
    expect(first?.body.toString()).toBe("one");
    expect(second?.body.toString()).toBe("two");
    expect(first?.trailers["grpc-status"]).toBe("0");
    expect(second?.trailers["grpc-status"]).toBe("0");
    expect(received).toHaveLength(2);
  });
});

describe("server drain", () => {
  it("sends GOAWAY, refuses a stream opened after it, lets the open one finish, then closes", async () => {
    const server = await serve(echo);
    const peer = await RawPeer.connect(server.port, true);
    peer.greet();
    peer.send(frame(HEADERS, FLAG_END_HEADERS, 1, requestBlock()));
    await peer.waitFor((f) => f.type === HEADERS && f.id === 1, "response headers on stream 1");

    // A grace far beyond the test's timeout: closing resolves only because the work was done.
    const closing = server.close(600_000);
    let closeResolved = false;
    void closing.then(() => {
      closeResolved = true;
    });
    const goaway = await peer.goaway();
    expect(goaway).toEqual({ lastStreamId: 1, code: ErrorCode.NO_ERROR });

    // A stream that crossed the GOAWAY on the wire: refused at once, never left waiting.
    peer.send(frame(HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, 3, requestBlock()));
    const refused = await peer.waitFor((f) => f.type === RST_STREAM && f.id === 3, "RST on 3");
    expect(refused.payload.readUInt32BE(0)).toBe(ErrorCode.REFUSED_STREAM);
    expect(peer.frames.some((f) => f.type === HEADERS && f.id === 3)).toBe(false);
    expect(closeResolved).toBe(false);

    // The stream open before the GOAWAY still completes.
    peer.send(frame(DATA, FLAG_END_STREAM, 1, Buffer.from("last words")));
    await peer.waitFor(
      (f) => f.type === HEADERS && f.id === 1 && (f.flags & FLAG_END_STREAM) !== 0,
      "trailers on stream 1",
    );
    const echoed = peer.frames.filter((f) => f.type === DATA && f.id === 1);
    expect(Buffer.concat(echoed.map((f) => f.payload)).toString()).toBe("last words");
    await peer.waitClosed();
    await closing;
  });

  it("tells a node:http2 client to go away and drops a stream still open after the grace", async () => {
    const server = await serve(echo);
    const session = connectNode(server);
    const goaway = new Promise<[number, number]>((resolve) =>
      session.once("goaway", (code: number, lastStreamId: number) => resolve([code, lastStreamId])),
    );
    const request = post(session);
    const answer = readNodeAnswer(request);
    request.write(Buffer.from("never ended"));
    await eventually(() => server.activeStreams() === 1, { what: "the stream to open" });

    const started = performance.now();
    await server.close(600);
    const took = performance.now() - started;
    expect(await goaway).toEqual([ErrorCode.NO_ERROR, 1]);
    const { headers, trailers, body } = await answer;
    expect(headers[":status"]).toBe(200);
    expect(body.toString()).toBe("never ended");
    expect(trailers["grpc-status"]).toBeUndefined();
    expect(took).toBeGreaterThanOrEqual(550);
    await eventually(() => server.connectionCount() === 0, {
      what: "the server to forget the connection",
    });
    expect(session.destroyed || session.closed).toBe(true);
  });
});

describe("server role, misbehaving peers", () => {
  const cases: [string, (peer: RawPeer) => void, number][] = [
    [
      "an HTTP/1.1 request instead of the preface",
      (peer) => peer.send(Buffer.from("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")),
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "DATA on stream 0",
      (peer) => {
        peer.greet();
        peer.send(frame(DATA, 0, 0, Buffer.from("stray")));
      },
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "a frame longer than 16384 bytes",
      (peer) => {
        peer.greet();
        peer.send(frame(HEADERS, FLAG_END_HEADERS, 1, Buffer.alloc(16_385)));
      },
      ErrorCode.FRAME_SIZE_ERROR,
    ],
    [
      "a header block HPACK cannot decode",
      (peer) => {
        peer.greet();
        // Indexed field 0 does not exist, and index 70 is past an empty dynamic table.
        peer.send(frame(HEADERS, FLAG_END_HEADERS, 1, Buffer.from([0x80 | 70, 0x80])));
      },
      ErrorCode.COMPRESSION_ERROR,
    ],
    [
      "a CONTINUATION with no HEADERS before it",
      (peer) => {
        peer.greet();
        peer.send(frame(CONTINUATION, FLAG_END_HEADERS, 1, requestBlock()));
      },
      ErrorCode.PROTOCOL_ERROR,
    ],
  ];

  it.each(cases)("answers %s with GOAWAY and closes", async (_name, misbehave, code) => {
    let streams = 0;
    const server = await serve((stream, headers, end) => {
      streams++;
      echo(stream, headers, end);
    });
    const peer = await RawPeer.connect(server.port);
    misbehave(peer);
    const goaway = await peer.goaway();
    expect(goaway.code).toBe(code);
    expect(goaway.lastStreamId).toBe(0);
    await peer.waitClosed();
    expect(streams).toBe(0);
    await eventually(() => server.connectionCount() === 0, {
      what: "the server to forget the connection",
    });
  });

  it("answers PING with an ACK carrying the same 8 bytes, and keeps serving", async () => {
    const server = await serve(echo);
    const peer = await RawPeer.connect(server.port);
    peer.greet();
    const opaque = Buffer.from("8bytes!?");
    peer.send(frame(PING, 0, 0, opaque));
    const ack = await peer.waitFor(
      (f) => f.type === PING && (f.flags & FLAG_ACK) !== 0,
      "PING ACK",
    );
    expect(ack.id).toBe(0);
    expect(ack.payload).toEqual(opaque);
    peer.send(frame(HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, 1, requestBlock()));
    await peer.waitFor(
      (f) => f.type === HEADERS && f.id === 1 && (f.flags & FLAG_END_STREAM) !== 0,
      "a complete response on stream 1",
    );
    expect(peer.frames.some((f) => f.type === GOAWAY)).toBe(false);
  });
});

describe("server keepalive and idle sweeps", () => {
  it("pings a silent peer and drops it when the PING goes unanswered", async () => {
    const server = await serve(echo, { keepaliveTimeMs: 1500, keepaliveTimeoutMs: 800 });
    const [silent, answering] = await Promise.all([
      RawPeer.connect(server.port),
      RawPeer.connect(server.port, true),
    ]);
    silent.greet();
    answering.greet();
    const isPing = (f: Frame) => f.type === PING && (f.flags & FLAG_ACK) === 0;
    // Frames seen in a sweep count as a sign of life; the next PING follows keepaliveTimeMs later.
    await silent.waitFor(isPing, "keepalive PING", 6000);
    const pingedAt = performance.now();
    await silent.waitClosed(5000);
    expect(silent.closedAt - pingedAt).toBeGreaterThanOrEqual(700);
    expect(answering.frames.some(isPing)).toBe(true);
    expect(answering.closed).toBe(false);
    await eventually(() => server.connectionCount() === 1, {
      what: "the server to forget the silent peer",
    });
  });

  it("keeps a connection that makes a short call every 250 ms, however long it lives", async () => {
    const server = await serve(echo, { idleTimeoutMs: 1500, keepaliveTimeMs: 0 });
    const session = connectNode(server);
    const started = performance.now();
    let goawayAfterMs: number | undefined;
    session.on("goaway", () => {
      goawayAfterMs ??= Math.round(performance.now() - started);
    });
    let completed = 0;
    while (performance.now() - started < 3500 && !session.closed) {
      const request = post(session);
      const answer = readNodeAnswer(request);
      request.end(Buffer.from("tick"));
      const { trailers } = await answer;
      if (trailers["grpc-status"] === "0") completed++;
      await new Promise((r) => setTimeout(r, 250));
    }
    // Never more than 250 ms without a call: never idle for idleTimeoutMs.
    expect(goawayAfterMs).toBeUndefined();
    expect(completed).toBeGreaterThanOrEqual(8);
  });

  it("closes a connection with no streams after idleTimeoutMs, not one with a stream open", async () => {
    const server = await serve(echo, { idleTimeoutMs: 1000, keepaliveTimeMs: 0 });
    const idle = await RawPeer.connect(server.port, true);
    idle.greet();
    const session = connectNode(server);
    let busyGoaway = false;
    session.on("goaway", () => {
      busyGoaway = true;
    });
    const request = post(session);
    const answer = readNodeAnswer(request);
    request.write(Buffer.from("still working"));

    const started = performance.now();
    expect(await idle.goaway()).toEqual({ lastStreamId: 0, code: ErrorCode.NO_ERROR });
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
    await idle.waitClosed();
    expect(busyGoaway).toBe(false);
    request.end();
    const { body, trailers } = await answer;
    expect(body.toString()).toBe("still working");
    expect(trailers["grpc-status"]).toBe("0");
  });
});

// --- client role ---

interface ClientOutcome {
  headers: HeaderList[];
  body: Buffer;
  ended: boolean;
  abort?: { code: number; reason: StreamAbortReason };
}

/** A stream handler that collects a response (consuming as it reads) until it ends or aborts. */
function collector(): { handler: H2StreamHandler; outcome: Promise<ClientOutcome> } {
  const headers: HeaderList[] = [];
  const chunks: Buffer[] = [];
  let settle: (o: ClientOutcome) => void = () => {};
  const outcome = new Promise<ClientOutcome>((resolve) => {
    settle = resolve;
  });
  const handler: H2StreamHandler = {
    onHeaders(_stream, block, end) {
      headers.push(block);
      if (end) settle({ headers, body: Buffer.concat(chunks), ended: true });
    },
    onData(stream, data, end) {
      // The view points into the socket's chunk: copy before keeping it.
      chunks.push(Buffer.from(data));
      stream.consume(data.length);
      if (end) settle({ headers, body: Buffer.concat(chunks), ended: true });
    },
    onAbort(_stream, code, reason) {
      settle({ headers, body: Buffer.concat(chunks), ended: false, abort: { code, reason } });
    },
    onDrain() {},
  };
  return { handler, outcome };
}

function pool(): H2ClientPool {
  const created = createH2ClientPool({ logger, connectTimeoutMs: 2000 });
  cleanups.push(() => created.close());
  return created;
}

async function nodeServer(
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
  settings: http2.Settings = {},
) {
  const server = http2.createServer({ settings });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("error", () => {});
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    onStream(stream, headers);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    for (const session of sessions) session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, sessions };
}

const requestHeaders = (address: string, extra: HeaderList = []): HeaderList => [
  ":method",
  "POST",
  ":scheme",
  "http",
  ":path",
  "/test.v1.Echo/Call",
  ":authority",
  address,
  "content-type",
  "application/grpc",
  ...extra,
];

/** A node:http2 server that echoes the request body and metadata, with trailers. */
function nodeEcho(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  const echoed: http2.OutgoingHttpHeaders = { ":status": 200, "content-type": "application/grpc" };
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(":") && value !== undefined) echoed[`echo-${name}`] = value;
  }
  stream.respond(echoed, { waitForTrailers: true });
  stream.on("wantTrailers", () =>
    stream.sendTrailers({ "grpc-status": "0", "grpc-message": "from node" }),
  );
  stream.pipe(stream);
}

describe("client role (createH2ClientPool)", () => {
  it("sends headers and data and reads headers, data and trailers, many calls on one connection", async () => {
    const upstream = await nodeServer(nodeEcho);
    const clients = pool();
    let first: H2Connection | undefined;
    for (let i = 0; i < 30; i++) {
      const connection = clients.connection(upstream.address);
      first ??= connection;
      expect(connection).toBe(first);
      const { handler, outcome } = collector();
      const stream = connection.openStream(
        handler,
        requestHeaders(upstream.address, [
          "x-tenant",
          "acme-corporation",
          "x-request-id",
          `request-${i}`,
        ]),
        false,
      );
      stream.sendData(Buffer.from(`payload ${i}`), true);
      const { headers, body, ended } = await outcome;
      expect(ended).toBe(true);
      const [response = [], trailers = []] = headers;
      expect(fieldValue(response, ":status")).toBe("200");
      expect(fieldValue(response, "echo-x-request-id")).toBe(`request-${i}`);
      expect(fieldValue(response, "echo-x-tenant")).toBe("acme-corporation");
      expect(body.toString()).toBe(`payload ${i}`);
      expect(fieldValue(trailers, "grpc-status")).toBe("0");
      expect(fieldValue(trailers, "grpc-message")).toBe("from node");
    }
    expect(clients.connectionCount()).toBe(1);
    expect(upstream.sessions.size).toBe(1);
    expect(first?.activeStreams).toBe(0);
  });

  it("uploads and downloads 8 MiB intact against node's 64 KiB windows", async () => {
    const upstream = await nodeServer(nodeEcho, { initialWindowSize: 65_535 });
    const connection = pool().connection(upstream.address);
    const upload = randomBytes(8 * 1024 * 1024);
    const { handler, outcome } = collector();
    let drains = 0;
    let sending: () => void = () => {};
    const stream = connection.openStream(
      { ...handler, onDrain: () => sending() },
      requestHeaders(upstream.address),
      false,
    );
    // Writes 256 KiB at a time, waiting for onDrain whenever sendData says so.
    let at = 0;
    sending = () => {
      while (at < upload.length) {
        const chunk = upload.subarray(at, at + 256 * 1024);
        at += chunk.length;
        if (!stream.sendData(chunk, at === upload.length)) {
          drains++;
          return;
        }
      }
    };
    sending();
    const { body, headers, ended } = await outcome;
    expect(ended).toBe(true);
    expect(body.length).toBe(upload.length);
    expect(sha256(body)).toBe(sha256(upload));
    expect(fieldValue(headers[1] ?? [], "grpc-status")).toBe("0");
    // Far more data than one window: the queue and onDrain carried it.
    expect(drains).toBeGreaterThan(0);
  });

  it("aborts a stream with reason connection when nothing listens", async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const address = `127.0.0.1:${port}`;
    const clients = pool();
    const connection = clients.connection(address);
    const { handler, outcome } = collector();
    connection.openStream(handler, requestHeaders(address), true);
    const { abort } = await outcome;
    expect(abort?.reason).toBe("connection");
    expect(connection.connected).toBe(false);
    expect(connection.closed).toBe(true);
    expect(clients.connectionCount()).toBe(0);
  });

  const notHttp2: [string, (socket: net.Socket) => void][] = [
    ["closes at once", (socket) => socket.destroy()],
    [
      "answers in HTTP/1.1",
      (socket) => socket.once("data", () => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n")),
    ],
  ];

  it.each(notHttp2)(
    "aborts, connected but never ready, against a peer that %s",
    async (_name, behave) => {
      const mute = net.createServer((socket) => {
        socket.on("error", () => {});
        behave(socket);
      });
      await new Promise<void>((resolve) => mute.listen(0, "127.0.0.1", resolve));
      cleanups.push(() => new Promise<void>((resolve) => mute.close(() => resolve())));
      const address = `127.0.0.1:${(mute.address() as AddressInfo).port}`;
      const connection = pool().connection(address);
      const { handler, outcome } = collector();
      connection.openStream(handler, requestHeaders(address), true);
      const { abort } = await outcome;
      expect(abort?.reason).toBe("connection");
      expect(connection.connected).toBe(true);
      expect(connection.ready).toBe(false);
    },
  );

  it("opens a second connection once the server's SETTINGS_MAX_CONCURRENT_STREAMS is reached", async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const upstream = await nodeServer(
      (stream) => {
        stream.respond({ ":status": 200, "content-type": "application/grpc" });
        held.push(stream);
      },
      { maxConcurrentStreams: 1 },
    );
    const clients = pool();
    const first = clients.connection(upstream.address);
    const a = collector();
    first.openStream(a.handler, requestHeaders(upstream.address), true);
    await eventually(() => first.ready && held.length === 1, {
      what: "the first stream to reach the server",
    });
    expect(first.peer.maxConcurrentStreams).toBe(1);

    const second = clients.connection(upstream.address);
    expect(second).not.toBe(first);
    const b = collector();
    second.openStream(b.handler, requestHeaders(upstream.address), true);
    await eventually(() => held.length === 2, { what: "the second stream to reach the server" });
    expect(upstream.sessions.size).toBe(2);
    expect(clients.connectionCount()).toBe(2);

    for (const stream of held) stream.end(Buffer.from("done"));
    const [doneA, doneB] = await Promise.all([a.outcome, b.outcome]);
    expect(doneA.body.toString()).toBe("done");
    expect(doneB.body.toString()).toBe("done");
    // With its stream finished, the first connection is chosen again.
    expect(clients.connection(upstream.address)).toBe(first);
  });

  it("does not hand out a connection it ended with a protocol error", async () => {
    // A peer that answers the first request with DATA on stream 0 (a connection error) and,
    // like many peers, keeps its side of the socket open after ours ends.
    const sockets = new Set<net.Socket>();
    const broken = net.createServer({ allowHalfOpen: true }, (socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.write(frame(SETTINGS, 0, 0));
      socket.once("data", () => socket.write(frame(DATA, 0, 0, Buffer.from("stray"))));
    });
    await new Promise<void>((resolve) => broken.listen(0, "127.0.0.1", resolve));
    cleanups.push(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => broken.close(() => resolve()));
    });
    const address = `127.0.0.1:${(broken.address() as AddressInfo).port}`;
    const clients = pool();
    const connection = clients.connection(address);
    const { handler, outcome } = collector();
    connection.openStream(handler, requestHeaders(address), true);
    const { abort } = await outcome;
    expect(abort).toEqual({ code: ErrorCode.PROTOCOL_ERROR, reason: "connection" });
    // The connection is finished: the next call must get another one, not a stream on this.
    expect(connection.canOpen()).toBe(false);
    expect(clients.connection(address)).not.toBe(connection);
  });

  it("keeps a pooled connection that makes a short call every 200 ms", async () => {
    const upstream = await nodeServer(nodeEcho);
    const clients = createH2ClientPool({ logger, idleConnectionMs: 1000, pingIntervalMs: 0 });
    cleanups.push(() => clients.close());
    const used = new Set<H2Connection>();
    const started = performance.now();
    while (performance.now() - started < 3000) {
      const connection = clients.connection(upstream.address);
      used.add(connection);
      const { handler, outcome } = collector();
      connection
        .openStream(handler, requestHeaders(upstream.address), false)
        .sendData(Buffer.from("tick"), true);
      const { body } = await outcome;
      expect(body.toString()).toBe("tick");
      await new Promise((r) => setTimeout(r, 200));
    }
    // Never idle for idleConnectionMs, so never closed and dialled again.
    expect(used.size).toBe(1);
    expect(upstream.sessions.size).toBe(1);
  });

  it("reports a reset stream with the server's code", async () => {
    const upstream = await nodeServer((stream) => stream.close(http2.constants.NGHTTP2_CANCEL));
    const connection = pool().connection(upstream.address);
    const { handler, outcome } = collector();
    connection.openStream(handler, requestHeaders(upstream.address), true);
    const { abort } = await outcome;
    expect(abort).toEqual({ code: ErrorCode.CANCEL, reason: "reset" });
    expect(connection.closed).toBe(false);
  });

  it("reports streams past a GOAWAY as refused, finishes the others, and dials afresh", async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const upstream = await nodeServer((stream) => {
      held.push(stream);
      // The second stream is answered with a GOAWAY that promises only the first.
      if (held.length === 2) stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    });
    const clients = pool();
    const connection = clients.connection(upstream.address);
    const one = collector();
    const two = collector();
    connection.openStream(one.handler, requestHeaders(upstream.address), true);
    connection.openStream(two.handler, requestHeaders(upstream.address), true);
    const { abort } = await two.outcome;
    expect(abort).toEqual({ code: ErrorCode.REFUSED_STREAM, reason: "refused" });
    expect(connection.goawayReceived).toBe(1);
    expect(connection.canOpen()).toBe(false);
    expect(clients.connection(upstream.address)).not.toBe(connection);

    const first = held[0];
    first?.respond({ ":status": 200 });
    first?.end(Buffer.from("promised"));
    const done = await one.outcome;
    expect(done.ended).toBe(true);
    expect(done.body.toString()).toBe("promised");
    expect(connection.activeStreams).toBe(0);
  });
});
