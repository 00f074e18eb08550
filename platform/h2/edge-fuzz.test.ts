// Property-based fuzzing (fast-check, fixed seed, bounded runs) of the two parsers a hostile
// peer reaches first: the frame reader of H2Connection and the HPACK decoder. Whatever the bytes,
// nothing throws out of them, nothing hangs, and the only errors sent back are RFC 9113 codes.
import { Duplex } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { H2Connection } from "./connection";
import { clientPreface, ErrorCode, GOAWAY, RST_STREAM } from "./frames";
import { type HeaderList, HpackDecoder, HpackEncoder, HpackError } from "./hpack";

const seed = 0x11_2026;
const rfcCodes = new Set<number>(Object.values(ErrorCode));

/** A frame header and payload from fuzzed parts (length always matches the payload). */
function frameBytes(type: number, flags: number, id: number, payload: Uint8Array): Buffer {
  const out = Buffer.alloc(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(id >>> 0, 5);
  out.set(payload, 9);
  return out;
}

const frameArb = fc
  .record({
    type: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 255 })),
    flags: fc.integer({ min: 0, max: 255 }),
    id: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    payload: fc.uint8Array({ maxLength: 64 }),
  })
  .map(({ type, flags, id, payload }) => frameBytes(type, flags, id, payload));

/** A server connection over an in-memory duplex: what it writes is collected. */
function serverOnDuplex(): { connection: H2Connection; feed(b: Buffer): void; written(): Buffer } {
  const written: Buffer[] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      written.push(chunk);
      callback();
    },
  });
  const connection = new H2Connection(socket, {
    role: "server",
    onStream(stream) {
      stream.sendHeaders([":status", "200", "content-type", "application/grpc"], false);
      stream.sendTrailers(["grpc-status", "0"]);
    },
  });
  return {
    connection,
    feed: (bytes) => {
      socket.push(bytes);
    },
    written: () => Buffer.concat(written),
  };
}

/** The codes of every GOAWAY and RST_STREAM in `bytes`, a stream of frames. */
function errorCodes(bytes: Buffer): number[] {
  const codes: number[] = [];
  let at = 0;
  while (bytes.length - at >= 9) {
    const size = bytes.readUIntBE(at, 3);
    const type = bytes[at + 3];
    const payload = bytes.subarray(at + 9, at + 9 + size);
    if (type === GOAWAY && payload.length >= 8) codes.push(payload.readUInt32BE(4));
    if (type === RST_STREAM && payload.length === 4) codes.push(payload.readUInt32BE(0));
    at += 9 + size;
  }
  return codes;
}

const turn = () => new Promise((r) => setImmediate(r));

describe("the frame reader, fuzzed", () => {
  it("survives any sequence of frames after the preface, answering only with RFC codes", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(frameArb, { maxLength: 24 }),
        fc.integer({ min: 1, max: 64 }),
        async (frames, chunkSize) => {
          const server = serverOnDuplex();
          const bytes = Buffer.concat([clientPreface, ...frames]);
          // Delivered in chunks of any size: frames split across reads are reassembled.
          for (let at = 0; at < bytes.length; at += chunkSize) {
            server.feed(bytes.subarray(at, at + chunkSize));
          }
          await turn();
          await turn();
          for (const code of errorCodes(server.written())) expect(rfcCodes.has(code)).toBe(true);
          server.connection.destroy();
        },
      ),
      { seed, numRuns: 400 },
    );
  });

  it("survives any bytes at all, preface included", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 512 }), async (bytes) => {
        const server = serverOnDuplex();
        server.feed(Buffer.from(bytes));
        await turn();
        for (const code of errorCodes(server.written())) expect(rfcCodes.has(code)).toBe(true);
        server.connection.destroy();
      }),
      { seed, numRuns: 300 },
    );
  });
});

describe("the HPACK decoder, fuzzed", () => {
  it("decodes or throws HpackError for any block, within its list limit", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 256 }), { maxLength: 4 }), (blocks) => {
        const decoder = new HpackDecoder();
        for (const block of blocks) {
          const out: HeaderList = [];
          try {
            decoder.decode(block, out, 4096);
          } catch (err) {
            expect(err).toBeInstanceOf(HpackError);
            return;
          }
          // Past the limit nothing more is built: at most one field beyond it.
          let size = 0;
          for (let i = 0; i + 2 < out.length; i += 2)
            size += (out[i] as string).length + (out[i + 1] as string).length + 32;
          expect(size).toBeLessThanOrEqual(4096);
        }
      }),
      { seed, numRuns: 3000 },
    );
  });

  it("decodes mutated blocks of real header lists without anything but HpackError", () => {
    const fieldArb = fc.tuple(
      fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/),
      fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
    );
    fc.assert(
      fc.property(
        fc.array(fc.array(fieldArb, { maxLength: 8 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (lists, mutations) => {
          const encoder = new HpackEncoder();
          const decoder = new HpackDecoder();
          for (const list of lists) {
            const block = Buffer.from(encoder.encode(list.flat()));
            for (const [at, value] of mutations)
              if (block.length > 0) block[at % block.length] = value;
            try {
              decoder.decode(block, [], 65_536);
            } catch (err) {
              expect(err).toBeInstanceOf(HpackError);
              return;
            }
          }
        },
      ),
      { seed, numRuns: 2000 },
    );
  });
});
