// A minimal authoritative DNS server over UDP for tests: answers A and SRV questions from a table
// (RFC 1035 wire format), NXDOMAIN for unknown names, and counts the queries it received.
import { createSocket, type RemoteInfo } from "node:dgram";
import type { AddressInfo } from "node:net";

export interface SrvRecord {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface DnsTable {
  a?: Record<string, string[]>;
  srv?: Record<string, SrvRecord[]>;
}

export interface LoopbackDnsServer {
  /** "127.0.0.1:port", as Resolver.setServers takes it. */
  readonly server: string;
  /** Questions received so far, as "TYPE name". */
  readonly queries: string[];
  /** Replaces the records served. */
  setTable(table: DnsTable): void;
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_SRV = 33;
const CLASS_IN = 1;

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, "").split(".").filter(Boolean);
  return Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "ascii")])),
    Buffer.from([0]),
  ]);
}

/** Reads the question's name (queries carry no compression) and returns it with the end offset. */
function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = offset;
  for (;;) {
    const len = msg[at];
    if (len === undefined || len > 63) throw new Error("bad question name");
    at++;
    if (len === 0) break;
    labels.push(msg.subarray(at, at + len).toString("ascii"));
    at += len;
  }
  return { name: labels.join(".").toLowerCase(), end: at };
}

function answer(type: number, ttl: number, rdata: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(0xc00c, 0); // pointer to the question name at offset 12
  head.writeUInt16BE(type, 2);
  head.writeUInt16BE(CLASS_IN, 4);
  head.writeUInt32BE(ttl, 6);
  head.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rdata]);
}

function respond(query: Buffer, table: DnsTable, seen: string[]): Buffer {
  const { name, end } = readName(query, 12);
  const qtype = query.readUInt16BE(end);
  const question = query.subarray(12, end + 4);
  seen.push(`${qtype === TYPE_SRV ? "SRV" : qtype === TYPE_A ? "A" : qtype} ${name}`);

  const a = Object.fromEntries(Object.entries(table.a ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const srv = Object.fromEntries(
    Object.entries(table.srv ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const known = name in a || name in srv;
  const answers: Buffer[] = [];
  if (qtype === TYPE_A) {
    for (const ip of a[name] ?? []) {
      answers.push(answer(TYPE_A, 10, Buffer.from(ip.split(".").map(Number))));
    }
  } else if (qtype === TYPE_SRV) {
    for (const r of srv[name] ?? []) {
      const fixed = Buffer.alloc(6);
      fixed.writeUInt16BE(r.priority, 0);
      fixed.writeUInt16BE(r.weight, 2);
      fixed.writeUInt16BE(r.port, 4);
      answers.push(answer(TYPE_SRV, 10, Buffer.concat([fixed, encodeName(r.target)])));
    }
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0); // same id
  const rd = query.readUInt16BE(2) & 0x0100;
  // QR=1 AA=1, RD echoed, RCODE 3 (NXDOMAIN) for names this server does not know.
  header.writeUInt16BE(0x8400 | rd | (known ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, question, ...answers]);
}

export async function startLoopbackDnsServer(initial: DnsTable): Promise<LoopbackDnsServer> {
  let table = initial;
  const queries: string[] = [];
  const socket = createSocket("udp4");
  socket.on("message", (msg: Buffer, from: RemoteInfo) => {
    try {
      socket.send(respond(msg, table, queries), from.port, from.address);
    } catch {
      // A query this server cannot parse gets no answer, like a real server dropping garbage.
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const { port } = socket.address() as AddressInfo;
  return {
    server: `127.0.0.1:${port}`,
    queries,
    setTable(next) {
      table = next;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
