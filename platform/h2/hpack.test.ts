// HPACK against the RFC 7541 examples, against nghttp2 (node:http2) in both directions over real
// sockets, against malformed input, and encoder-to-decoder over many seeded random blocks.
import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "../test-support/eventually";
import { type HeaderList, HpackDecoder, HpackEncoder, HpackError, hpackStaticTable } from "./hpack";
import { decodeHuffman, huffmanCodeLengths, huffmanCodes, huffmanEos } from "./huffman";

// The static code as an encoder: the decoder's inverse, to feed it Huffman-coded strings.
/** The length in octets of `str` (latin1 characters) once Huffman-coded. */
function huffmanEncodedLength(str: string): number {
  let bits = 0;
  for (let i = 0; i < str.length; i++) {
    bits += huffmanCodeLengths[str.charCodeAt(i) & 0xff] as number;
  }
  return Math.ceil(bits / 8);
}

/**
 * Huffman-codes `str`, whose characters are octets (latin1; a character above U+00FF keeps its
 * low byte), padding the last octet with the high bits of EOS.
 */
function encodeHuffman(str: string): Buffer {
  const out = Buffer.allocUnsafe(huffmanEncodedLength(str));
  // Pending bits are kept below 2^38 (at most 7 left over plus one 30-bit code): plain arithmetic,
  // as 32-bit bitwise operators would truncate them.
  let pending = 0;
  let pendingBits = 0;
  let j = 0;
  for (let i = 0; i < str.length; i++) {
    const sym = str.charCodeAt(i) & 0xff;
    const length = huffmanCodeLengths[sym] as number;
    pending = pending * 2 ** length + (huffmanCodes[sym] as number);
    pendingBits += length;
    while (pendingBits >= 8) {
      pendingBits -= 8;
      const scale = 2 ** pendingBits;
      const byte = Math.floor(pending / scale);
      out[j++] = byte;
      pending -= byte * scale;
    }
  }
  if (pendingBits > 0) {
    out[j] = (pending << (8 - pendingBits)) | (0xff >>> pendingBits);
  }
  return out;
}

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ""), "hex");

/** RFC 7540 6.5.2 header list size. */
function listSize(list: HeaderList): number {
  let size = 0;
  for (let i = 0; i < list.length; i += 2) {
    size += (list[i] as string).length + (list[i + 1] as string).length + 32;
  }
  return size;
}

function decodeAll(decoder: HpackDecoder, block: Uint8Array): HeaderList {
  const out: HeaderList = [];
  const size = decoder.decode(block, out);
  expect(size).toBe(listSize(out));
  return out;
}

/** Deterministic PRNG (mulberry32), so a failing random case can be replayed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const printableAscii = String.fromCharCode(...Array.from({ length: 95 }, (_, i) => 0x20 + i));
const highLatin1 = String.fromCharCode(...Array.from({ length: 128 }, (_, i) => 0x80 + i));
// Every character a header name (an HTTP token, lowercase) may hold.
const tokenName = "x-!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz";

interface RfcStep {
  block: string;
  headers: HeaderList;
  /** The dynamic table afterwards, newest first. */
  table: HeaderList;
  tableSize: number;
}

const authority: HeaderList = [":authority", "www.example.com"];
const noCache: HeaderList = ["cache-control", "no-cache"];
const custom: HeaderList = ["custom-key", "custom-value"];
const requestSteps = (blocks: [string, string, string]): RfcStep[] => [
  {
    block: blocks[0],
    headers: [":method", "GET", ":scheme", "http", ":path", "/", ...authority],
    table: authority,
    tableSize: 57,
  },
  {
    block: blocks[1],
    headers: [":method", "GET", ":scheme", "http", ":path", "/", ...authority, ...noCache],
    table: [...noCache, ...authority],
    tableSize: 110,
  },
  {
    block: blocks[2],
    headers: [
      ":method",
      "GET",
      ":scheme",
      "https",
      ":path",
      "/index.html",
      ...authority,
      ...custom,
    ],
    table: [...custom, ...noCache, ...authority],
    tableSize: 164,
  },
];

const date21 = ["date", "Mon, 21 Oct 2013 20:13:21 GMT"];
const date22 = ["date", "Mon, 21 Oct 2013 20:13:22 GMT"];
const location = ["location", "https://www.example.com"];
const privateCache = ["cache-control", "private"];
const cookie = ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"];
const responseSteps = (blocks: [string, string, string]): RfcStep[] => [
  {
    block: blocks[0],
    headers: [":status", "302", ...privateCache, ...date21, ...location],
    table: [...location, ...date21, ...privateCache, ":status", "302"],
    tableSize: 222,
  },
  {
    block: blocks[1],
    headers: [":status", "307", ...privateCache, ...date21, ...location],
    table: [":status", "307", ...location, ...date21, ...privateCache],
    tableSize: 222,
  },
  {
    block: blocks[2],
    headers: [
      ...[":status", "200", ...privateCache, ...date22, ...location],
      ...["content-encoding", "gzip", ...cookie],
    ],
    table: [...cookie, "content-encoding", "gzip", ...date22],
    tableSize: 215,
  },
];

// RFC 7541 C.3 to C.6, as the RFC prints them.
const c3 = requestSteps([
  "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
  "8286 84be 5808 6e6f 2d63 6163 6865",
  "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
]);
const c4 = requestSteps([
  "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
  "8286 84be 5886 a8eb 1064 9cbf",
  "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
]);
const c5 = responseSteps([
  `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
   2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
   6c65 2e63 6f6d`,
  "4803 3330 37c1 c0bf",
  `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
   54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
   5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
   3d31`,
]);
const c6 = responseSteps([
  `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
   2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
  "4883 640e ffc1 c0bf",
  `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
   77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
   9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
]);

describe("RFC 7541 Appendix C", () => {
  it.each([
    ["C.3 requests without Huffman", c3, 4096],
    ["C.4 requests with Huffman", c4, 4096],
    ["C.5 responses without Huffman, evicting", c5, 256],
    ["C.6 responses with Huffman, evicting", c6, 256],
  ] as const)("decodes %s", (_title, steps, tableSize) => {
    const decoder = new HpackDecoder(tableSize);
    for (const step of steps) {
      expect(decodeAll(decoder, hex(step.block))).toEqual(step.headers);
      expect(decoder.tableEntries()).toEqual(step.table);
      expect(decoder.tableSize).toBe(step.tableSize);
    }
  });

  it("decodes the C.2 single representations", () => {
    const withIndexing = new HpackDecoder();
    expect(
      decodeAll(
        withIndexing,
        hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"),
      ),
    ).toEqual(["custom-key", "custom-header"]);
    expect(withIndexing.tableSize).toBe(55);

    const withoutIndexing = new HpackDecoder();
    expect(decodeAll(withoutIndexing, hex("040c 2f73 616d 706c 652f 7061 7468"))).toEqual([
      ":path",
      "/sample/path",
    ]);
    const neverIndexed = new HpackDecoder();
    expect(decodeAll(neverIndexed, hex("1008 7061 7373 776f 7264 0673 6563 7265 74"))).toEqual([
      "password",
      "secret",
    ]);
    expect(withoutIndexing.tableSize + neverIndexed.tableSize).toBe(0);
  });

  it("encodes the C.3 requests and C.5 responses byte for byte", () => {
    const requests = new HpackEncoder();
    for (const step of c3) {
      expect(requests.encode(step.headers).toString("hex")).toBe(hex(step.block).toString("hex"));
      expect(requests.tableEntries()).toEqual(step.table);
    }
    // The RFC's responses assume a 256-octet table already in force; ours announces it first.
    const responses = new HpackEncoder(256);
    c5.forEach((step, i) => {
      const block = responses.encode(step.headers).toString("hex");
      const expected = hex(step.block).toString("hex");
      expect(block).toBe(i === 0 ? `3fe101${expected}` : expected);
      expect(responses.tableSize).toBe(step.tableSize);
    });
  });

  it("encodes integers as C.1 shows (1337 with a 5-bit prefix)", () => {
    const encoder = new HpackEncoder();
    encoder.setMaxTableSize(1337);
    expect(encoder.encode([]).toString("hex")).toBe("3f9a0a");
    expect(encoder.encode([]).length).toBe(0);
  });
});

describe("Huffman code", () => {
  it("is canonical: the codes follow from the lengths alone", () => {
    const symbols = Array.from({ length: 257 }, (_, sym) => sym).sort(
      (a, b) => (huffmanCodeLengths[a] as number) - (huffmanCodeLengths[b] as number) || a - b,
    );
    const rebuilt = new Array<number>(257);
    let code = 0;
    let previousLength = huffmanCodeLengths[symbols[0] as number] as number;
    for (const [i, sym] of symbols.entries()) {
      const length = huffmanCodeLengths[sym] as number;
      if (i > 0) code = (code + 1) * 2 ** (length - previousLength);
      previousLength = length;
      rebuilt[sym] = code;
    }
    expect(rebuilt).toEqual(huffmanCodes);
  });

  it("is complete (Kraft sum exactly 1), and EOS is 30 one bits", () => {
    let kraft = 0n;
    for (const length of huffmanCodeLengths) kraft += 1n << BigInt(30 - length);
    expect(kraft).toBe(1n << 30n);
    expect(huffmanCodeLengths[huffmanEos]).toBe(30);
    expect(huffmanCodes[huffmanEos]).toBe(2 ** 30 - 1);
    expect(Math.max(...huffmanCodeLengths)).toBe(30);
  });

  it("encodes the RFC's example strings and decodes random strings of every byte", () => {
    expect(encodeHuffman("www.example.com").toString("hex")).toBe("f1e3c2e5f23a6ba0ab90f4ff");
    expect(encodeHuffman("no-cache").toString("hex")).toBe("a8eb10649cbf");
    const random = seededRandom(7541);
    const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    const samples = [all, "", "a", all.split("").reverse().join("")];
    for (let n = 0; n < 2000; n++) {
      const length = Math.floor(random() * 64);
      samples.push(
        String.fromCharCode(...Array.from({ length }, () => Math.floor(random() * 256))),
      );
    }
    for (const sample of samples) {
      const coded = encodeHuffman(sample);
      expect(decodeHuffman(coded, 0, coded.length)).toBe(sample);
    }
  });

  it("rejects EOS inside a string and padding that is too long or not all ones", () => {
    const a = encodeHuffman("a"); // 00011 + 111 padding
    expect(a.toString("hex")).toBe("1f");
    expect(decodeHuffman(hex("18"), 0, 1)).toBeUndefined(); // padding 000
    expect(decodeHuffman(hex("1fff"), 0, 2)).toBeUndefined(); // 11 bits of padding
    expect(decodeHuffman(hex("ffffffff"), 0, 4)).toBeUndefined(); // EOS
    expect(decodeHuffman(hex("ffffff"), 0, 3)).toBeUndefined(); // 24 bits of padding
    const eightAs = encodeHuffman("aaaaaaaa"); // 40 bits: no padding
    expect(eightAs.length).toBe(5);
    expect(decodeHuffman(eightAs, 0, 5)).toBe("aaaaaaaa");
    const padded = Buffer.concat([eightAs, hex("ff")]);
    expect(decodeHuffman(padded, 0, 6)).toBeUndefined(); // exactly 8 bits of padding
  });
});

describe("malformed header blocks", () => {
  const literalWithHuffmanValue = (value: Buffer) =>
    Buffer.concat([hex("4001 61"), Buffer.from([0x80 | value.length]), value]);

  it.each([
    ["index 0", hex("80")],
    ["an index past the static and dynamic tables", hex("be")],
    ["a name index past the tables", hex("7f00 0161")],
    ["a truncated integer", hex("ff")],
    ["an integer above 2^31", hex("ff ff ff ff ff 0f")],
    ["an integer with too many continuation bytes", hex("ff 80 80 80 80 80 80 00")],
    ["a truncated string", hex("4005 6162")],
    ["a literal without its name", hex("40")],
    ["a literal without its value", hex("4001 61")],
    ["Huffman padding that is not all ones", literalWithHuffmanValue(hex("18"))],
    ["Huffman padding longer than 7 bits", literalWithHuffmanValue(hex("1fff"))],
    ["EOS inside a Huffman string", literalWithHuffmanValue(hex("ffffffff"))],
    ["a table size update after a field", hex("82 20")],
    ["a table size update above the limit", new HpackEncoder(8192).encode([":method", "GET"])],
  ])("rejects %s", (_title, block) => {
    expect(() => new HpackDecoder().decode(block, [])).toThrow(HpackError);
  });

  it("accepts table size updates at the start of a block, up to the limit", () => {
    const decoder = new HpackDecoder(8192);
    expect(decodeAll(decoder, new HpackEncoder(8192).encode([":method", "GET"]))).toEqual([
      ":method",
      "GET",
    ]);
    expect(decodeAll(decoder, hex("20 3f e1 1f 82"))).toEqual([":method", "GET"]);
    expect(decoder.tableSize).toBe(0);
  });
});

describe("encoder policy", () => {
  it("indexes repeated fields, but never secrets, long values or grpc-timeout", () => {
    const encoder = new HpackEncoder();
    const long = "v".repeat(600);
    const list: HeaderList = [
      ...[":method", "POST", ":path", "/agentplatform.v1.AgentService/ExecuteTask"],
      ...["content-type", "application/grpc", "te", "trailers", "grpc-timeout", "4999m"],
      ...["authorization", "Bearer abc", "cookie", "a=b", "x-long", long],
    ];
    const first = encoder.encode(list);
    expect(decodeAll(new HpackDecoder(), first)).toEqual(list);
    expect(encoder.tableEntries()).toEqual([
      ...["te", "trailers", "content-type", "application/grpc"],
      ...[":path", "/agentplatform.v1.AgentService/ExecuteTask"],
    ]);
    const second = encoder.encode(list);
    const latin1 = (text: string) => Buffer.from(text, "latin1");
    const expected = Buffer.concat([
      // :method POST from the static table, then the three entries the first block added.
      hex("83 c0 bf be"),
      // grpc-timeout: literal without indexing, literal name.
      hex("00 0c"),
      latin1("grpc-timeout"),
      hex("05"),
      latin1("4999m"),
      // authorization (static name 23) and cookie (static name 32): never indexed.
      hex("1f 08 0a"),
      latin1("Bearer abc"),
      hex("1f 11 03"),
      latin1("a=b"),
      // A value over 512 octets: never indexed, length 600 as 7f d9 03.
      hex("10 06"),
      latin1("x-long"),
      hex("7f d9 03"),
      latin1(long),
    ]);
    expect(second.toString("hex")).toBe(expected.toString("hex"));
  });

  it("sends a value bigger than the whole table without indexing instead of emptying it", () => {
    const encoder = new HpackEncoder(100);
    encoder.encode(["x-a", "1"]);
    const block = encoder.encode(["x-b", "b".repeat(80)]);
    expect(block[0]).toBe(0x00);
    expect(encoder.tableEntries()).toEqual(["x-a", "1"]);
  });

  it("rejects characters that do not fit an octet rather than corrupt them", () => {
    expect(() => new HpackEncoder().encode(["x-name", "caf\u00e9 \u2603"])).toThrow(TypeError);
    expect(() => new HpackEncoder().encode(["x-odd"])).toThrow(TypeError);
  });
});

describe("encoder to decoder", () => {
  it("announces the smallest table size set between blocks, then the final one", () => {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    decodeAll(decoder, encoder.encode(["x-a", "1", "x-b", "2"]));
    encoder.setMaxTableSize(36); // room for x-b = 2 only
    encoder.setMaxTableSize(4096);
    const block = encoder.encode(["x-c", "3"]);
    // 36 (0x20 | 31, 5), then 4096 (0x20 | 31, 0xe1, 0x1f), then the field.
    expect(block.subarray(0, 5).toString("hex")).toBe("3f053fe11f");
    expect(encoder.tableEntries()).toEqual(["x-c", "3", "x-b", "2"]);
    expect(decodeAll(decoder, block)).toEqual(["x-c", "3"]);
    expect(decoder.tableEntries()).toEqual(encoder.tableEntries());
  });

  it("announces a table emptied and regrown between blocks", () => {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    decodeAll(decoder, encoder.encode(["x-a", "1", "x-b", "2"]));
    encoder.setMaxTableSize(0);
    encoder.setMaxTableSize(4096);
    const block = encoder.encode(["x-c", "3"]);
    expect(block.subarray(0, 4).toString("hex")).toBe("203fe11f");
    expect(decodeAll(decoder, block)).toEqual(["x-c", "3"]);
    expect(decoder.tableEntries()).toEqual(["x-c", "3"]);
    expect(encoder.tableEntries()).toEqual(["x-c", "3"]);
  });

  it("round-trips seeded random header lists with evictions and size changes, tables in step", () => {
    const random = seededRandom(20_240_601);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const randomLatin1 = (max: number) =>
      String.fromCharCode(
        ...Array.from({ length: Math.floor(random() * max) }, () => Math.floor(random() * 256)),
      );
    const names = [
      ...hpackStaticTable.map(([name]) => name),
      ...["grpc-timeout", "x-request-id", "x-trace", "grpc-encoding", tokenName],
    ];
    const values = [
      ...hpackStaticTable.map(([, value]) => value),
      ...["application/grpc", "trailers", "gzip", "1S", printableAscii, highLatin1],
    ];
    const decoder = new HpackDecoder(256);
    const encoder = new HpackEncoder(256);
    let evictions = 0;
    for (let n = 0; n < 3000; n++) {
      if (random() < 0.05) encoder.setMaxTableSize(Math.floor(random() * 257));
      if (random() < 0.02) encoder.setMaxTableSize(Math.floor(random() * 257));
      const list: HeaderList = [];
      const fields = Math.floor(random() * 12);
      for (let f = 0; f < fields; f++) {
        const roll = random();
        const name = roll < 0.1 ? `x-${randomLatin1(8).replace(/[^a-z0-9-]/g, "")}` : pick(names);
        let value: string;
        if (roll < 0.5) value = pick(values);
        else if (roll < 0.98) value = randomLatin1(40);
        else value = "w".repeat(500 + Math.floor(random() * 100));
        list.push(name, value);
      }
      const before = encoder.tableEntries().length;
      const block = encoder.encode(list);
      if (encoder.tableEntries().length < before) evictions++;
      expect(decodeAll(decoder, block)).toEqual(list);
      expect(decoder.tableEntries()).toEqual(encoder.tableEntries());
      expect(decoder.tableSize).toBe(encoder.tableSize);
      expect(encoder.tableSize).toBeLessThanOrEqual(256);
    }
    expect(evictions).toBeGreaterThan(100);
  });
});

// HTTP/2 framing, just enough to carry header blocks over a raw socket.
const HEADERS = 0x1;
const SETTINGS = 0x4;
const GOAWAY = 0x7;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

function frame(type: number, flags: number, streamId: number, payload?: Uint8Array): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload?.length ?? 0, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return payload === undefined ? head : Buffer.concat([head, payload]);
}

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** Splits a byte stream into frames, after the client preface when `expectPreface`. */
function frameReader(expectPreface: boolean, onFrame: (frame: Frame) => void) {
  let pending = Buffer.alloc(0);
  let prefaceLeft = expectPreface ? preface.length : 0;
  return (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    if (prefaceLeft > 0) {
      if (pending.length < prefaceLeft) return;
      expect(pending.subarray(0, prefaceLeft)).toEqual(preface);
      pending = pending.subarray(prefaceLeft);
      prefaceLeft = 0;
    }
    while (pending.length >= 9) {
      const length = pending.readUIntBE(0, 3);
      if (pending.length < 9 + length) return;
      onFrame({
        type: pending[3] as number,
        flags: pending[4] as number,
        streamId: pending.readUInt32BE(5) & 0x7fffffff,
        payload: pending.subarray(9, 9 + length),
      });
      pending = pending.subarray(9 + length);
    }
  };
}

/** Joins HEADERS (+ CONTINUATION) frames into header blocks, dropping padding and priority. */
function headerBlockCollector(onBlock: (streamId: number, block: Buffer) => void) {
  let parts: Buffer[] = [];
  const flags = { padded: 0, priority: 0, continuation: 0 };
  const collect = (f: Frame) => {
    if (f.type === HEADERS) {
      let fragment = f.payload;
      if (f.flags & PADDED) {
        flags.padded++;
        const padLength = fragment[0] as number;
        fragment = fragment.subarray(1, fragment.length - padLength);
      }
      if (f.flags & PRIORITY) {
        flags.priority++;
        fragment = fragment.subarray(5);
      }
      parts = [fragment];
    } else if (f.type === CONTINUATION) {
      flags.continuation++;
      parts.push(f.payload);
    } else {
      return;
    }
    if (f.flags & END_HEADERS) onBlock(f.streamId, Buffer.concat(parts));
  };
  return { collect, flags };
}

function withDeadline<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") reject(new Error("no port"));
      else resolve(address.port);
    });
  });
}

/** A header list as node:http2 takes it: repeated names become arrays, in the same order. */
function toNodeHeaders(list: HeaderList): http2.OutgoingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i] as string;
    const value = list[i + 1] as string;
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else headers[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return headers;
}

describe("interop with nghttp2 (node:http2)", () => {
  it("decodes what an http2.connect client sends: Huffman, its table, padding, CONTINUATION", async () => {
    const requests: HeaderList[] = [];
    for (let i = 0; i < 6; i++) {
      requests.push([
        ...[":path", `/agentplatform.v1.AgentService/ExecuteTask?n=${i}`],
        ...["content-type", "application/grpc", "te", "trailers", "grpc-timeout", `${99 - i}m`],
        ...["x-printable", `[${printableAscii}]`, "x-latin1", highLatin1, tokenName, "token"],
        ...["x-repeated", "one", "x-repeated", "two", "authorization", "Bearer t0k3n"],
        ...["x-secret", "hunter2", "x-request-id", `req-${i}-${(i * 7919).toString(36)}`],
        // Over the 16 KiB frame limit even Huffman-coded: HEADERS + CONTINUATION.
        ...(i === 2 ? ["x-big", highLatin1.repeat(160)] : []),
        ...(i === 3 ? ["x-empty", ""] : []),
      ]);
    }

    const blocks: Buffer[] = [];
    let flags = { padded: 0, priority: 0, continuation: 0 };
    const received = new Promise<void>((resolve, reject) => {
      const server = net.createServer((socket) => {
        socket.on("error", reject);
        socket.write(frame(SETTINGS, 0, 0));
        const collector = headerBlockCollector((_streamId, block) => {
          blocks.push(block);
          if (blocks.length === requests.length) resolve();
        });
        flags = collector.flags;
        socket.on(
          "data",
          frameReader(true, (f) => {
            if (f.type === SETTINGS && !(f.flags & ACK)) socket.write(frame(SETTINGS, ACK, 0));
            collector.collect(f);
          }),
        );
        cleanups.push(() => socket.destroy());
      });
      cleanups.push(() => server.close());
      listen(server).then((port) => {
        const client = http2.connect(`http://127.0.0.1:${port}`, {
          paddingStrategy: http2.constants.PADDING_STRATEGY_MAX,
        });
        client.on("error", reject);
        cleanups.push(() => client.destroy());
        requests.forEach((list, i) => {
          // nghttp2 sends these as never indexed.
          const headers = Object.assign(toNodeHeaders(list), {
            [http2.sensitiveHeaders]: ["x-secret"],
          });
          const stream = client.request(headers, {
            endStream: true,
            ...(i === 1 ? { weight: 200, exclusive: true } : {}),
          });
          stream.on("error", () => {});
        });
      }, reject);
    });
    await withDeadline(received, "the client's header blocks");

    const decoder = new HpackDecoder();
    const added = new Set([":method", ":scheme", ":authority"]);
    requests.forEach((list, i) => {
      const decoded = decodeAll(decoder, blocks[i] as Buffer);
      const withoutAdded: HeaderList = [];
      for (let j = 0; j < decoded.length; j += 2) {
        if (!added.has(decoded[j] as string))
          withoutAdded.push(decoded[j] as string, decoded[j + 1] as string);
      }
      expect(withoutAdded).toEqual(list);
      expect(decoded.slice(decoded.indexOf(":method"), decoded.indexOf(":method") + 2)).toEqual([
        ":method",
        "GET",
      ]);
    });
    expect(flags.padded).toBeGreaterThan(0);
    expect(flags.priority).toBeGreaterThan(0);
    expect(flags.continuation).toBeGreaterThan(0);
    // nghttp2 Huffman-codes literals: its first block is shorter than the same list with raw
    // strings. Later it refers to its dynamic table: a repeat costs a fraction of the first block.
    const firstDecoded = decodeAll(new HpackDecoder(), blocks[0] as Buffer);
    const firstRaw = new HpackEncoder().encode(firstDecoded);
    expect((blocks[0] as Buffer).length).toBeLessThan(firstRaw.length - 20);
    expect((blocks[5] as Buffer).length).toBeLessThan((blocks[0] as Buffer).length / 4);
  });

  it("has an http2.createServer decode what the encoder sends, across blocks and size changes", async () => {
    const server = http2.createServer({ settings: { headerTableSize: 8192 } });
    const seen: HeaderList[] = [];
    let onRequest: (() => void) | undefined;
    server.on("request", (req, res) => {
      seen.push(req.rawHeaders);
      res.setHeader("x-echo", "reply value that repeats");
      res.end();
      onRequest?.();
    });
    server.on("sessionError", () => {});
    cleanups.push(() => server.close());
    const port = await listen(server);

    const encoder = new HpackEncoder();
    const responseDecoder = new HpackDecoder();
    const responses = new Map<number, HeaderList>();
    let serverTableSize = -1;
    let goaway: number | undefined;
    const socket = net.connect(port, "127.0.0.1");
    cleanups.push(() => socket.destroy());
    const settled = new Promise<void>((resolve, reject) => {
      socket.on("error", reject);
      const collector = headerBlockCollector((streamId, block) => {
        responses.set(streamId, decodeAll(responseDecoder, block));
      });
      socket.on(
        "data",
        frameReader(false, (f) => {
          if (f.type === SETTINGS && !(f.flags & ACK)) {
            for (let at = 0; at + 6 <= f.payload.length; at += 6) {
              if (f.payload.readUInt16BE(at) === 1)
                serverTableSize = f.payload.readUInt32BE(at + 2);
            }
            // Acknowledged before any header block, so the server's table limit is in force.
            socket.write(frame(SETTINGS, ACK, 0));
            resolve();
          }
          if (f.type === GOAWAY) goaway = f.payload.readUInt32BE(4);
          collector.collect(f);
        }),
      );
    });
    socket.write(Buffer.concat([preface, frame(SETTINGS, 0, 0)]));
    await withDeadline(settled, "the server's SETTINGS");
    expect(serverTableSize).toBe(8192);
    encoder.setMaxTableSize(serverTableSize);

    const request = (i: number): HeaderList => [
      ...[":method", "POST", ":scheme", "http", ":authority", `127.0.0.1:${port}`],
      ...[":path", `/agentplatform.v1.ToolService/ExecuteTool?call=${i}`],
      ...["content-type", "application/grpc", "te", "trailers", "grpc-timeout", `${1000 - i}m`],
      ...["user-agent", "grpc-node-js/1.12", "authorization", "Bearer abc.def"],
      ...["x-printable", `[${printableAscii}]`, "x-latin1", highLatin1, tokenName, "v"],
      ...["x-repeated", "one", "x-repeated", "two"],
      ...["x-large", "L".repeat(i % 3 === 0 ? 3000 : 400)],
    ];
    const blockLengths: number[] = [];
    for (let i = 0; i < 12; i++) {
      if (i === 5) encoder.setMaxTableSize(0);
      if (i === 6) encoder.setMaxTableSize(4096);
      if (i === 9) {
        encoder.setMaxTableSize(300);
        encoder.setMaxTableSize(8192);
      }
      const list = request(i);
      const block = encoder.encode(list);
      blockLengths.push(block.length);
      const streamId = 2 * i + 1;
      const answered = new Promise<void>((resolve) => {
        onRequest = resolve;
      });
      socket.write(frame(HEADERS, END_STREAM | END_HEADERS, streamId, block));
      await withDeadline(answered, `request ${i} at the server (GOAWAY code ${goaway})`);
      expect(seen[i]).toEqual(list);
      await eventually(() => responses.has(streamId), { what: `response ${i}`, intervalMs: 5 });
      expect(responses.get(streamId)?.slice(0, 2)).toEqual([":status", "200"]);
      expect(responses.get(streamId)).toContain("reply value that repeats");
    }
    expect(goaway).toBeUndefined();
    // Repeats are mostly indexed; after the table was emptied (block 5) the next blocks cost more.
    expect(blockLengths[1]).toBeLessThan((blockLengths[0] as number) / 3);
    expect(blockLengths[5]).toBeGreaterThan((blockLengths[4] as number) * 3);
  });
});
