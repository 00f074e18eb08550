// HPACK under hostile input and secret values: a bomb is refused from one pass over its block,
// never-indexed fields stay never indexed when a relay re-encodes them, credentials never enter
// a table, and a call carrying two authorization fields is refused before either is trusted.
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { loadJwtAuthenticator, readJwtConfig } from "../auth/jwt-config";
import { signJwt } from "../auth/jwt-token";
import { EnvReader } from "../config";
import { type HeaderList, HpackDecoder, HpackEncoder, neverIndexedNames } from "./hpack";
import { admitCall, nextHopHeaders } from "./relay-front";

/** A literal with incremental indexing and a new name, as RFC 7541 6.2.1 lays it out. */
function indexedLiteral(name: string, value: string): Buffer {
  const int7 = (n: number) =>
    n < 127
      ? [n]
      : [127, ...(n - 127 < 128 ? [n - 127] : [((n - 127) & 0x7f) | 0x80, (n - 127) >> 7])];
  return Buffer.concat([
    Buffer.from([0x40, ...int7(name.length)]),
    Buffer.from(name, "latin1"),
    Buffer.from(int7(value.length)),
    Buffer.from(value, "latin1"),
  ]);
}

describe("an HPACK bomb", () => {
  it("builds no more of the list than its limit, and keeps the table in step", () => {
    const decoder = new HpackDecoder();
    // A 4,000-byte entry referenced 100,000 times: a 400 MB list from a 104 KB block.
    const block = Buffer.concat([
      indexedLiteral("x-bomb", "b".repeat(4000)),
      Buffer.alloc(100_000, 0x80 | 62),
      indexedLiteral("x-after", "still in the table"),
    ]);
    const out: HeaderList = [];
    const size = decoder.decode(block, out, 64 * 1024);
    expect(size).toBeGreaterThan(400_000_000);
    // Fields are kept only until the limit is passed: 17 of them, not 100,000.
    expect(out.length / 2).toBeLessThan(20);
    // The table saw both literals, so the peer's next block decodes as it meant it.
    const next: HeaderList = [];
    decoder.decode(Buffer.from([0x80 | 62, 0x80 | 63]), next);
    expect(next).toEqual(["x-after", "still in the table", "x-bomb", "b".repeat(4000)]);
  });

  it("still fails on a malformed field past the limit (COMPRESSION_ERROR)", () => {
    const decoder = new HpackDecoder();
    const block = Buffer.concat([
      indexedLiteral("x-bomb", "b".repeat(4000)),
      Buffer.alloc(100, 0x80 | 62),
      Buffer.from([0x80 | 100]), // past the table
    ]);
    expect(() => decoder.decode(block, [], 1000)).toThrow(/past the table/);
  });
});

describe("never-indexed fields and credentials", () => {
  it("re-encodes a field the caller sent never indexed as never indexed on the next hop", () => {
    // The caller's encoder marks x-secret never indexed (0x10 prefix, new name).
    const name = "x-secret";
    const value = "s3cr3t";
    const block = Buffer.concat([
      Buffer.from([0x82, 0x86, 0x84]), // :method POST is 0x83; GET, http, / are enough here
      Buffer.from([0x10, name.length]),
      Buffer.from(name),
      Buffer.from([value.length]),
      Buffer.from(value),
    ]);
    const received: HeaderList = [];
    new HpackDecoder().decode(block, received);
    expect(neverIndexedNames(received)?.has(name)).toBe(true);
    const forwarded = nextHopHeaders(received, "http", "127.0.0.1");
    const upstream = new HpackEncoder();
    const encoded = upstream.encode(forwarded);
    // Not in the upstream connection's table, and sent with the never-indexed representation.
    expect(upstream.tableEntries()).not.toContain(value);
    const at = encoded.indexOf(Buffer.from(name));
    expect(encoded[at - 2]).toBe(0x10);
  });

  it("never puts authorization, agent tokens or cookies in a shared connection's table", () => {
    const encoder = new HpackEncoder();
    const headers = [
      "authorization",
      "Bearer abc",
      "agent_token",
      "tok-123",
      "cookie",
      "session=1",
      "x-ordinary",
      "kept",
    ];
    encoder.encode(headers);
    encoder.encode(headers);
    expect(encoder.tableEntries()).toEqual(["x-ordinary", "kept"]);
  });
});

describe("admission with more than one authorization field", () => {
  const secret = "edge-limits-test-secret-0123456789abcdef";
  const env = new EnvReader({
    JWT_SECRET: secret,
    JWT_AUDIENCE: "agent-platform",
    JWT_METHOD_RULES: "*=scope:platform",
  });
  const config = readJwtConfig(env);
  env.done("test");
  if (config === undefined) throw new Error("JWT config expected");
  const auth = loadJwtAuthenticator(config);
  const good = `Bearer ${signJwt(
    {
      sub: "a",
      aud: "agent-platform",
      scope: "platform",
      exp: Math.floor(Date.now() / 1000) + 300,
    },
    { alg: "HS256", secret },
  )}`;
  const rules = { auth, maxTimeoutMs: 0, maxHops: 8 };
  const path = "/agentplatform.v1.AgentService/ExecuteTask";

  it("admits one good token", () => {
    expect(admitCall(["authorization", good], path, 0, rules)).toEqual({ deadlineAt: undefined });
  });

  it("refuses a good token followed by another, whichever comes first", () => {
    for (const headers of [
      ["authorization", good, "authorization", "Bearer forged"],
      ["authorization", "Bearer forged", "authorization", good],
    ]) {
      expect(admitCall(headers, path, 0, rules)).toMatchObject({ code: Code.Unauthenticated });
    }
  });
});
