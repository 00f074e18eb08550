// The HTTP/2 edge tried as an attacker would: raw frames over TCP against a real front door and
// a real router, each in a process of its own. Every attack asserts what a user would notice:
// the attacker's connection ends with the right code within a bound, the server's memory stays
// within a bound, and a healthy caller on another connection keeps succeeding meanwhile.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentService } from "../../gen/agentplatform/v1/platform_pb";
import {
  CONTINUATION,
  DATA,
  ErrorCode,
  FLAG_END_HEADERS,
  FLAG_END_STREAM,
  HEADERS,
  PING,
  RST_STREAM,
  SETTINGS,
  SETTINGS_INITIAL_WINDOW_SIZE,
  WINDOW_UPDATE,
} from "./frames";
import {
  type EdgeProcess,
  type HealthyCaller,
  peakRssGrowth,
  startEdgeProcess,
  startHealthyCaller,
} from "./test-support/edge-stack";
import {
  frame,
  grpcRequestHeaders,
  RawPeer,
  settings,
  taskRequestMessage,
  uint32,
} from "./test-support/raw-peer";

const MiB = 1024 * 1024;
/** Memory one attacking connection may cost the server. */
const maxGrowth = 32 * MiB;

/** Limits shortened so the tests see timers fire; every other limit is the default. */
const env = {
  H2_HEADER_BLOCK_TIMEOUT_MS: "1000",
  H2_SETTINGS_TIMEOUT_MS: "1500",
  H2_STALLED_PEER_TIMEOUT_MS: "1500",
  H2_IDLE_STREAM_TIMEOUT_MS: "6000",
  // Room for 400 never-read calls on one upstream connection: more than its window covers.
  GRPC_MAX_CONCURRENT_STREAMS: "512",
};

let backend: EdgeProcess;
let router: EdgeProcess;
let door: EdgeProcess;
const peers: RawPeer[] = [];

function peer(
  target: EdgeProcess,
  options: { read?: boolean; ackSettings?: boolean; localAddress?: string } = {},
) {
  const p = new RawPeer({ port: target.port, ...options });
  peers.push(p);
  return p;
}

beforeAll(async () => {
  backend = await startEdgeProcess("backend", env);
  const registry = { EDGE_REGISTRY: String(backend.info.registry) };
  router = await startEdgeProcess("router", { ...env, ...registry });
  door = await startEdgeProcess("front-door", { ...env, ...registry });
  // Both serve calls before any attack starts.
  for (const target of [router, door]) {
    const caller = startHealthyCaller(target.port);
    const deadline = Date.now() + 20_000;
    while (caller.ok === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await caller.stop();
    if (caller.ok === 0)
      throw new Error(`no call succeeded through port ${target.port}: ${caller.errors}`);
  }
}, 60_000);

afterAll(async () => {
  for (const p of peers) p.destroy();
  await door?.stop();
  await router?.stop();
  await backend?.stop();
});

/** A first complete call: the connection is set up (SETTINGS acknowledged) before the attack. */
async function warmUp(attacker: RawPeer): Promise<void> {
  await attacker.ready();
  await attacker.write(attacker.unaryCall(1));
  await attacker.until(() => attacker.ended.has(1), 5000, "first call answered");
}

/** Runs `attack` beside a healthy caller; returns the server's peak memory growth. */
async function underAttack(
  target: EdgeProcess,
  attack: () => Promise<void>,
): Promise<{ growth: number; healthy: HealthyCaller }> {
  const healthy = startHealthyCaller(target.port);
  let growth: number;
  try {
    growth = await peakRssGrowth(target, attack);
    // Calls keep succeeding once the attack is over, too.
    const okBefore = healthy.ok;
    const deadline = Date.now() + 10_000;
    while (healthy.ok < okBefore + 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
  } finally {
    await healthy.stop();
  }
  return { growth, healthy };
}

function expectHealthy(healthy: HealthyCaller): void {
  expect(healthy.errors).toEqual([]);
  expect(healthy.failed).toBe(0);
  expect(healthy.ok).toBeGreaterThan(2);
}

/** `n` ExecuteTask calls at once on a fresh connection: how many succeeded, and the errors. */
async function healthyBurst(
  target: EdgeProcess,
  n: number,
): Promise<{ ok: number; errors: string[] }> {
  const client = createClient(
    AgentService,
    createGrpcTransport({ baseUrl: `http://127.0.0.1:${target.port}` }),
  );
  const results = await Promise.allSettled(
    Array.from({ length: n }, (_, i) =>
      client.executeTask({ agentId: "echo-agent", input: `healthy ${i}` }, { timeoutMs: 10_000 }),
    ),
  );
  const errors = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
  return { ok: results.length - errors.length, errors };
}

/**
 * Each target, and how many connections of 256 idle calls it is sent: the front door, the public
 * edge, takes the whole attack (its per-peer limit of 2,048 calls trims it); a router, which has
 * no per-peer limit (its peers are front doors), is sent what a front door would let through,
 * as more would measure the test agent's capacity rather than the router's.
 */
const targets: [string, () => EdgeProcess, number][] = [
  ["front door", () => door, 12],
  ["router", () => router, 8],
];

describe.each(targets)("the %s under attack", (_name, target, idleConnections) => {
  it("ends a CONTINUATION flood with GOAWAY ENHANCE_YOUR_CALM, in bounded memory", async () => {
    const attacker = peer(target());
    await warmUp(attacker);
    const { growth, healthy } = await underAttack(target(), async () => {
      await attacker.write(attacker.headersFrame(3, grpcRequestHeaders(), 0));
      const empty = frame(CONTINUATION, 0, 3);
      const batch = Buffer.concat(Array.from({ length: 4096 }, () => empty));
      // Up to 25 MB of empty CONTINUATION frames, as fast as the server takes them.
      for (let i = 0; i < 700 && attacker.goaway === undefined && !attacker.socket.destroyed; i++) {
        if (!(await attacker.write(batch, 500))) break;
      }
      await attacker.until(() => attacker.goaway !== undefined, 5000, "GOAWAY");
    });
    expect(attacker.goaway?.code).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(await attacker.waitClosed(8000)).toBe(true);
    expect(growth).toBeLessThan(maxGrowth);
    expectHealthy(healthy);
  });

  it("ends a header block left open with GOAWAY ENHANCE_YOUR_CALM once its time is up", async () => {
    const attacker = peer(target());
    await warmUp(attacker);
    await attacker.write(attacker.headersFrame(3, grpcRequestHeaders(), 0));
    await attacker.write(frame(CONTINUATION, 0, 3));
    await attacker.until(() => attacker.goaway !== undefined, 5000, "GOAWAY");
    expect(attacker.goaway?.code).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(await attacker.waitClosed(8000)).toBe(true);
  });

  it("refuses an HPACK bomb from a pass over its block, not from the list it expands to", async () => {
    const attacker = peer(target());
    await attacker.ready();
    // One 4,000-byte value put in the peer's table, then referenced 100,000 times: ~400 MB.
    const name = Buffer.from("x-bomb");
    const literal = Buffer.concat([
      Buffer.from([0x40, name.length]),
      name,
      Buffer.from([0x7f, 0xa1, 0x1e]), // length 4000 (127 + 3873)
      Buffer.alloc(4000, 0x61),
    ]);
    const block = Buffer.concat([literal, Buffer.alloc(100_000, 0x80 | 62)]);
    const calls = 20;
    const { growth, healthy } = await underAttack(target(), async () => {
      for (let n = 0; n < calls; n++) {
        const id = 2 * n + 1;
        // HEADERS plus CONTINUATION frames of 16 KiB each (the default largest frame).
        const parts: Buffer[] = [];
        for (let at = 0; at < block.length; at += 16_384) {
          const end = Math.min(at + 16_384, block.length);
          const flags =
            (end === block.length ? FLAG_END_HEADERS : 0) | (at === 0 ? FLAG_END_STREAM : 0);
          parts.push(frame(at === 0 ? HEADERS : CONTINUATION, flags, id, block.subarray(at, end)));
        }
        await attacker.write(Buffer.concat(parts));
        // After the first block the table holds one more entry: index 62 is still the bomb.
      }
      await attacker.until(() => attacker.ended.size === calls, 10_000, "every bomb answered");
    });
    // Each call is refused with RESOURCE_EXHAUSTED; the connection stays usable.
    for (let n = 0; n < calls; n++) expect(attacker.grpcStatus(2 * n + 1)).toBe("8");
    expect(attacker.goaway).toBeUndefined();
    expect(growth).toBeLessThan(maxGrowth);
    expectHealthy(healthy);
  });

  for (const [kind, flood, perWrite] of [
    ["PING", frame(PING, 0, 0, Buffer.alloc(8)), 4096],
    ["SETTINGS", frame(SETTINGS, 0, 0), 4096],
    ["slow PING", frame(PING, 0, 0, Buffer.alloc(8)), 50],
  ] as const) {
    it(`ends a ${kind} flood from a peer that does not read with GOAWAY ENHANCE_YOUR_CALM`, async () => {
      const attacker = peer(target(), { read: false, ackSettings: false });
      await attacker.ready();
      const batch = Buffer.concat(Array.from({ length: perWrite }, () => flood));
      let sent = 0;
      const { growth, healthy } = await underAttack(target(), async () => {
        // Up to ~40 MB of frames whose answers are never read; the server stops taking them.
        while (sent < 40 * MiB) {
          if (!(await attacker.write(batch, 1000))) break;
          sent += batch.length;
          if (perWrite < 4096) await new Promise((r) => setImmediate(r));
        }
        attacker.startReading();
        await attacker.until(() => attacker.goaway !== undefined, 10_000, "GOAWAY");
      });
      expect(sent).toBeLessThan(40 * MiB);
      expect(attacker.goaway?.code).toBe(ErrorCode.ENHANCE_YOUR_CALM);
      expect(await attacker.waitClosed(10_000)).toBe(true);
      expect(growth).toBeLessThan(maxGrowth);
      expectHealthy(healthy);
    });
  }

  it("ends a rapid reset with GOAWAY ENHANCE_YOUR_CALM, and reset calls reach no agent", async () => {
    const attacker = peer(target());
    await attacker.ready();
    const before = await backend.stats();
    const headers = grpcRequestHeaders();
    const { growth, healthy } = await underAttack(target(), async () => {
      for (let batch = 0; batch < 20 && attacker.goaway === undefined; batch++) {
        const parts: Buffer[] = [];
        for (let i = 0; i < 500; i++) {
          const id = 2 * (batch * 500 + i) + 1;
          parts.push(
            attacker.headersFrame(id, headers),
            frame(RST_STREAM, 0, id, uint32(ErrorCode.CANCEL)),
          );
        }
        if (!(await attacker.write(Buffer.concat(parts)))) break;
        await new Promise((r) => setImmediate(r));
      }
      await attacker.until(() => attacker.goaway !== undefined, 5000, "GOAWAY");
    });
    expect(attacker.goaway?.code).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(attacker.goaway?.lastStreamId).toBeLessThan(2 * 2000);
    expect(await attacker.waitClosed(8000)).toBe(true);
    const after = await backend.stats();
    // Streams reset in the read that opened them never went upstream.
    expect(after.agentStreams - before.agentStreams).toBeLessThan(100);
    expect(growth).toBeLessThan(maxGrowth);
    expectHealthy(healthy);
  });

  it("ends a stream id lower than one already used with GOAWAY PROTOCOL_ERROR", async () => {
    const attacker = peer(target());
    await attacker.ready();
    await attacker.write(attacker.unaryCall(5));
    await attacker.until(() => attacker.ended.has(5), 5000, "call 5 answered");
    expect(attacker.grpcStatus(5)).toBe("0");
    await attacker.write(attacker.unaryCall(3));
    await attacker.until(() => attacker.goaway !== undefined, 5000, "GOAWAY");
    expect(attacker.goaway?.code).toBe(ErrorCode.PROTOCOL_ERROR);
    expect(await attacker.waitClosed(8000)).toBe(true);
  });

  it("answers malformed header fields with RST_STREAM PROTOCOL_ERROR and keeps the connection", async () => {
    const attacker = peer(target());
    await attacker.ready();
    const malformed: [string, string[]][] = [
      ["uppercase name", [...grpcRequestHeaders(), "X-Upper", "1"]],
      ["connection-specific field", [...grpcRequestHeaders(), "connection", "keep-alive"]],
      ["transfer-encoding", [...grpcRequestHeaders(), "transfer-encoding", "chunked"]],
      ["te other than trailers", grpcRequestHeaders().map((v) => (v === "trailers" ? "gzip" : v))],
      ["CR LF in a value", [...grpcRequestHeaders(), "x-note", "a\r\nx-injected: 1"]],
      ["NUL in a value", [...grpcRequestHeaders(), "x-note", "a\u0000b"]],
      [
        "duplicate :path",
        [...grpcRequestHeaders().slice(0, 8), ":path", "/x", ...grpcRequestHeaders().slice(8)],
      ],
      ["pseudo-header after a regular field", [...grpcRequestHeaders(), ":method", "POST"]],
      ["unknown pseudo-header", [":foo", "bar", ...grpcRequestHeaders()]],
      ["no :path", grpcRequestHeaders().filter((_, i, all) => all[i - (i % 2)] !== ":path")],
    ];
    let id = 1;
    const ids: number[] = [];
    for (const [, headers] of malformed) {
      ids.push(id);
      await attacker.write(attacker.headersFrame(id, headers, FLAG_END_HEADERS | FLAG_END_STREAM));
      id += 2;
    }
    await attacker.until(
      () => ids.every((i) => attacker.resets.has(i)),
      5000,
      "every stream reset",
    );
    for (const [i, [what]] of malformed.entries()) {
      expect({ what, code: attacker.resets.get(ids[i] as number) }).toEqual({
        what,
        code: ErrorCode.PROTOCOL_ERROR,
      });
    }
    // The connection still carries a well-formed call.
    await attacker.write(attacker.unaryCall(id));
    await attacker.until(() => attacker.ended.has(id), 5000, "good call answered");
    expect(attacker.grpcStatus(id)).toBe("0");
    expect(attacker.goaway).toBeUndefined();
  });

  it("names no internal socket path when a call is not gRPC", async () => {
    const attacker = peer(target());
    await attacker.ready();
    const headers = grpcRequestHeaders().map((v) => (v === "application/grpc" ? "text/plain" : v));
    await attacker.write(attacker.headersFrame(1, headers, FLAG_END_HEADERS | FLAG_END_STREAM));
    await attacker.until(() => attacker.ended.has(1) || attacker.resets.has(1), 5000, "answer");
    const answer = (attacker.headers.get(1) ?? []).flat().join("\n");
    expect(answer).not.toMatch(/unix:|\.sock|agentplatform-|\/tmp\//);
  });

  it("ends a SETTINGS_INITIAL_WINDOW_SIZE change that overflows a window with GOAWAY FLOW_CONTROL_ERROR", async () => {
    const attacker = peer(target());
    await attacker.ready();
    // A call left open (its request never ends), its send window raised to the largest allowed.
    await attacker.write(attacker.headersFrame(1, grpcRequestHeaders("StreamTask")));
    await attacker.write(frame(WINDOW_UPDATE, 0, 1, uint32(2 ** 31 - 1 - 65_535)));
    await new Promise((r) => setTimeout(r, 100));
    await attacker.write(frame(SETTINGS, 0, 0, settings([SETTINGS_INITIAL_WINDOW_SIZE, 65_536])));
    await attacker.until(() => attacker.goaway !== undefined, 5000, "GOAWAY");
    expect(attacker.goaway?.code).toBe(ErrorCode.FLOW_CONTROL_ERROR);
    expect(await attacker.waitClosed(8000)).toBe(true);
  });

  it("ends a connection whose peer never acknowledges SETTINGS with GOAWAY SETTINGS_TIMEOUT", async () => {
    const attacker = peer(target(), { ackSettings: false });
    await attacker.ready();
    await attacker.until(() => attacker.goaway !== undefined, 5000, "GOAWAY");
    expect(attacker.goaway?.code).toBe(ErrorCode.SETTINGS_TIMEOUT);
    expect(await attacker.waitClosed(8000)).toBe(true);
  });

  // 200 such calls hold more than a shared upstream connection's whole window (16 MiB) between
  // them: only window returned as bytes arrive keeps that connection moving for others.
  it.each([40, 200])(
    "keeps other callers going while %i streaming calls never read their responses",
    async (calls) => {
      // The attacker reads frames but never returns window: every byte sent to it stays queued.
      const attacker = peer(target());
      await attacker.ready();
      const request = taskRequestMessage("flood", { count: "100", size: "16000", delay_ms: "0" });
      let burst = { ok: 0, errors: [] as string[] };
      const growth = await peakRssGrowth(target(), async () => {
        const parts: Buffer[] = [];
        for (let i = 0; i < calls; i++) {
          const id = 2 * i + 1;
          parts.push(
            attacker.headersFrame(id, grpcRequestHeaders("StreamTask")),
            frame(DATA, FLAG_END_STREAM, id, request),
          );
        }
        await attacker.write(Buffer.concat(parts));
        // Let the responses fill every window they can.
        await new Promise((r) => setTimeout(r, 1000));
        burst = await healthyBurst(target(), 20);
      });
      expect(burst.errors).toEqual([]);
      expect(burst.ok).toBe(20);
      expect(growth).toBeLessThan(maxGrowth);
      attacker.destroy();
    },
  );

  it("keeps other callers going while 400 calls over two connections never read", async () => {
    // Two attacking connections of 200 calls each, sharing the upstream connections others use:
    // up to 400 × 64 KiB, more than one connection's 16 MiB receive window, once filled.
    const attackers = [peer(target()), peer(target())];
    const request = taskRequestMessage("flood", { count: "100", size: "16000", delay_ms: "0" });
    let burst = { ok: 0, errors: [] as string[] };
    const growth = await peakRssGrowth(target(), async () => {
      for (const attacker of attackers) {
        await attacker.ready();
        const parts: Buffer[] = [];
        for (let i = 0; i < 200; i++) {
          const id = 2 * i + 1;
          parts.push(
            attacker.headersFrame(id, grpcRequestHeaders("StreamTask")),
            frame(DATA, FLAG_END_STREAM, id, request),
          );
        }
        await attacker.write(Buffer.concat(parts));
        // The first batch opens (and readies) the upstream connection the second one joins.
        await new Promise((r) => setTimeout(r, 500));
      }
      await new Promise((r) => setTimeout(r, 1500));
      burst = await healthyBurst(target(), 20);
    });
    expect(burst.errors).toEqual([]);
    expect(burst.ok).toBe(20);
    expect(growth).toBeLessThan(2 * maxGrowth);
    for (const attacker of attackers) attacker.destroy();
  });

  it("ends a call with no deadline that moves no data with DEADLINE_EXCEEDED, saying why", async () => {
    const attacker = peer(target());
    await attacker.ready();
    const ids = [1, 3, 5];
    const parts = ids.flatMap((id) => [
      attacker.headersFrame(id, grpcRequestHeaders()),
      frame(DATA, 0, id, taskRequestMessage("idle")),
    ]);
    await attacker.write(Buffer.concat(parts));
    await attacker.until(
      () => ids.every((id) => attacker.ended.has(id)),
      15_000,
      "idle calls ended",
    );
    for (const id of ids) {
      expect(attacker.grpcStatus(id)).toBe("4");
      const message = (attacker.headers.get(id) ?? []).flat().join(" ");
      expect(message).toMatch(/no deadline/);
    }
    expect(attacker.goaway).toBeUndefined();
  });

  it("ends calls that send nothing after the idle time, and others still get through meanwhile", async () => {
    // Connections from another address, 256 calls each that send one message and never end.
    const attackers = Array.from({ length: idleConnections }, () =>
      peer(target(), { localAddress: "127.0.0.2" }),
    );
    const request = taskRequestMessage("idle");
    let burst = { ok: 0, errors: [] as string[] };
    const ids = Array.from({ length: 256 }, (_, i) => 2 * i + 1);
    const before = await backend.stats();
    const growth = await peakRssGrowth(target(), async () => {
      for (const attacker of attackers) {
        await attacker.ready();
        const parts: Buffer[] = [];
        for (const id of ids) {
          parts.push(attacker.headersFrame(id, grpcRequestHeaders()), frame(DATA, 0, id, request));
        }
        await attacker.write(Buffer.concat(parts));
      }
      // The idle calls hold their stream slots all the way to the agent; then others call.
      const reaching = Math.min(2048, 256 * idleConnections);
      const deadline = Date.now() + 5000;
      while (
        (await backend.stats()).agentStreams - before.agentStreams < reaching &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 100));
      }
      burst = await healthyBurst(target(), 20);
      // Every idle call is ended, with a status, once H2_IDLE_STREAM_TIMEOUT_MS (6 s) passed.
      for (const attacker of attackers) {
        await attacker.until(
          () => ids.every((id) => attacker.ended.has(id) || attacker.resets.has(id)),
          15_000,
          "idle calls ended",
        );
      }
    });
    expect(burst.errors).toEqual([]);
    expect(burst.ok).toBe(20);
    const statuses = new Map<string, number>();
    for (const attacker of attackers) {
      for (const id of ids) {
        const status = attacker.grpcStatus(id) ?? `RST ${attacker.resets.get(id)}`;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }
    // DEADLINE_EXCEEDED for idling (see the next test), RESOURCE_EXHAUSTED past the front
    // door's calls per peer; the test agent, swamped on a small machine, may end some first.
    // None succeeds.
    const seen = JSON.stringify([...statuses]);
    expect(statuses.has("0"), seen).toBe(false);
    expect(growth).toBeLessThan(2 * maxGrowth);
    for (const attacker of attackers) expect(attacker.goaway).toBeUndefined();
  });
});

describe("the front door's per-peer limits", () => {
  it("refuses a peer's connections past H2_MAX_CONNECTIONS_PER_PEER with GOAWAY ENHANCE_YOUR_CALM", async () => {
    // 256 connections from one address are taken; the 257th is refused at once.
    const held = Array.from({ length: 256 }, () => peer(door, { localAddress: "127.0.0.3" }));
    await Promise.all(held.map((p) => p.ready()));
    await held[0]?.until(() => held.every((p) => p.socket.bytesRead > 0), 10_000, "all served");
    const refused = peer(door, { localAddress: "127.0.0.3" });
    await refused.until(() => refused.goaway !== undefined, 5000, "GOAWAY");
    expect(refused.goaway?.code).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(await refused.waitClosed(8000)).toBe(true);
    // Another address is not affected, and neither are the connections already held.
    expect(held.some((p) => p.goaway !== undefined)).toBe(false);
    const burst = await healthyBurst(door, 5);
    expect(burst.errors).toEqual([]);
    for (const p of held) p.destroy();
  });
});
