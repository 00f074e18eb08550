// HPACK header compression (RFC 7541): a decoder for the peer's header blocks and an encoder that
// favours speed and a bounded dynamic table over the smallest possible output.

import { decodeHuffman, octetsToString } from "./huffman";

/** A header list as a flat array: [name0, value0, name1, value1, ...]; names lowercase. */
export type HeaderList = string[];

/** A malformed header block: the HTTP/2 connection must end with COMPRESSION_ERROR. */
export class HpackError extends Error {
  override name = "HpackError";
}

/** The static table (RFC 7541 Appendix A); entry i is index i + 1. */
export const hpackStaticTable: readonly (readonly [name: string, value: string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];

const staticCount = hpackStaticTable.length;

// Indexed by HPACK index (slot 0 unused), so the decoder's lookup is one array read.
const staticNames = ["", ...hpackStaticTable.map((entry) => entry[0])];
const staticValues = ["", ...hpackStaticTable.map((entry) => entry[1])];

/** The RFC's default SETTINGS_HEADER_TABLE_SIZE. */
export const defaultHeaderTableSize = 4096;

/**
 * The encoder never uses a bigger table than this, whatever the peer allows: the table holds
 * strings this process sends, and memory per connection stays bounded.
 */
export const maxEncoderTableSize = 65_536;

/** Table accounting per RFC 7541 4.1; strings are latin1, one octet per character. */
function entrySize(name: string, value: string): number {
  return name.length + value.length + 32;
}

// A dynamic table as a ring: the entry with insertion number n (counted from 0 since the table
// was created) sits at slot n & mask. Index 1 of the dynamic part is the newest entry.
class DynamicTable {
  names: string[] = new Array<string>(16).fill("");
  values: string[] = new Array<string>(16).fill("");
  mask = 15;
  /** Entries ever added; the newest has insertion number `inserted - 1`. */
  inserted = 0;
  /** Entries present. */
  length = 0;
  /** Octets as RFC 7541 4.1 counts them. */
  size = 0;

  constructor(public maxSize: number) {}

  add(name: string, value: string, size: number): void {
    if (this.length > this.mask) this.grow();
    const slot = this.inserted & this.mask;
    this.names[slot] = name;
    this.values[slot] = value;
    this.inserted++;
    this.length++;
    this.size += size;
  }

  /** Drops the oldest entry. */
  evict(): void {
    const slot = (this.inserted - this.length) & this.mask;
    this.size -= entrySize(this.names[slot] as string, this.values[slot] as string);
    // Release the strings now: a large value should not live on in an unused slot.
    this.names[slot] = "";
    this.values[slot] = "";
    this.length--;
  }

  /** The slot of dynamic index `i` (1 = newest), which the caller has checked is <= length. */
  slotOf(i: number): number {
    return (this.inserted - i) & this.mask;
  }

  entries(): HeaderList {
    const out: HeaderList = [];
    for (let i = 1; i <= this.length; i++) {
      const slot = this.slotOf(i);
      out.push(this.names[slot] as string, this.values[slot] as string);
    }
    return out;
  }

  private grow(): void {
    const capacity = (this.mask + 1) * 2;
    const names = new Array<string>(capacity).fill("");
    const values = new Array<string>(capacity).fill("");
    const mask = capacity - 1;
    for (let n = this.inserted - this.length; n < this.inserted; n++) {
      names[n & mask] = this.names[n & this.mask] as string;
      values[n & mask] = this.values[n & this.mask] as string;
    }
    this.names = names;
    this.values = values;
    this.mask = mask;
  }
}

// Names of the fields a peer sent as never indexed (RFC 7541 6.2.3), per decoded header list
// and per list built from one, so a relay re-encodes them as never indexed too (RFC 7541 7.1.3).
const neverIndexedByList = new WeakMap<HeaderList, Set<string>>();

/** Marks `name` in `list` as never indexed: every encoder sends it as such. */
export function markNeverIndexed(list: HeaderList, name: string): void {
  const names = neverIndexedByList.get(list);
  if (names === undefined) neverIndexedByList.set(list, new Set([name]));
  else names.add(name);
}

/** Names `list` carries as never indexed; undefined for none (the usual case). */
export function neverIndexedNames(list: HeaderList): ReadonlySet<string> | undefined {
  return neverIndexedByList.get(list);
}

/** Carries the never-indexed marks of `from` over to `to`, a list built from it. */
export function copyNeverIndexed(from: HeaderList, to: HeaderList): void {
  const names = neverIndexedByList.get(from);
  if (names !== undefined) neverIndexedByList.set(to, new Set(names));
}

function asBuffer(block: Uint8Array): Buffer {
  return Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.length);
}

/** Decodes the header blocks of one HTTP/2 connection, keeping its dynamic table. */
export class HpackDecoder {
  private readonly table: DynamicTable;
  private readonly maxTableSize: number;
  // Read position in the block being decoded, shared by the reading methods.
  private pos = 0;
  private end = 0;

  /** maxTableSize: the SETTINGS_HEADER_TABLE_SIZE we advertised (default 4096). */
  constructor(maxTableSize = defaultHeaderTableSize) {
    this.maxTableSize = maxTableSize;
    // Some encoders use the advertised size without a size update first. Keeping entries longer
    // than the encoder does is harmless (indexes count from the newest), evicting sooner is not.
    this.table = new DynamicTable(maxTableSize);
  }

  /** The dynamic table's size in octets (RFC 7541 4.1). */
  get tableSize(): number {
    return this.table.size;
  }

  /** The dynamic table's entries, newest first, as a flat name/value list. */
  tableEntries(): HeaderList {
    return this.table.entries();
  }

  /**
   * Decodes one complete header block (HEADERS + CONTINUATION payloads joined), appending
   * name/value pairs to `out`. Returns the header list size as RFC 7540 6.5.2 counts it
   * (sum of name.length + value.length + 32 per field, in octets). Always decodes the whole
   * block (the dynamic table must stay in step with the peer's encoder) even when large;
   * throws HpackError for anything malformed: bad index, integer overflow (> 2^31),
   * truncated input, invalid Huffman (padding longer than 7 bits, padding not all ones,
   * EOS symbol inside a string), table size update above maxTableSize or not at the start
   * of a block. Once the list passes `maxListSize`, fields are no longer added to `out` (nor
   * their strings built, where the table does not need them): an HPACK bomb (a large entry
   * referenced many times) costs a pass over the block, not the list it expands to.
   */
  decode(block: Uint8Array, out: HeaderList, maxListSize = Number.POSITIVE_INFINITY): number {
    const buf = asBuffer(block);
    const table = this.table;
    this.pos = 0;
    this.end = buf.length;
    let listSize = 0;
    let sawField = false;
    while (this.pos < this.end) {
      if (listSize > maxListSize) {
        listSize += this.skipField(buf, sawField);
        sawField = true;
        continue;
      }
      const first = buf[this.pos] as number;
      if (first >= 0x80) {
        // Indexed field: the common case once the peer's table is warm.
        let index = first & 0x7f;
        if (index === 0x7f) index = this.readInt(buf, 7);
        else this.pos++;
        let name: string;
        let value: string;
        if (index === 0) throw new HpackError("HPACK: indexed field with index 0");
        if (index <= staticCount) {
          name = staticNames[index] as string;
          value = staticValues[index] as string;
        } else {
          const i = index - staticCount;
          if (i > table.length) throw new HpackError(`HPACK: index ${index} is past the table`);
          const slot = table.slotOf(i);
          name = table.names[slot] as string;
          value = table.values[slot] as string;
        }
        out.push(name, value);
        listSize += name.length + value.length + 32;
        sawField = true;
        continue;
      }
      if (first >= 0x40) {
        const name = this.readName(buf, 6);
        const value = this.readString(buf);
        out.push(name, value);
        const size = entrySize(name, value);
        listSize += size;
        sawField = true;
        // An entry bigger than the table empties it and is not added (RFC 7541 4.4).
        while (table.length > 0 && table.size + size > table.maxSize) table.evict();
        if (size <= table.maxSize) table.add(name, value, size);
        continue;
      }
      if (first >= 0x20) {
        if (sawField) {
          throw new HpackError("HPACK: dynamic table size update after a header field");
        }
        const size = this.readInt(buf, 5);
        if (size > this.maxTableSize) {
          throw new HpackError(
            `HPACK: dynamic table size update to ${size} exceeds the limit ${this.maxTableSize}`,
          );
        }
        table.maxSize = size;
        while (table.size > size) table.evict();
        continue;
      }
      // Literal without indexing (0000) or never indexed (0001); the latter is remembered, so
      // a relay that re-encodes the list keeps it out of every table too.
      const name = this.readName(buf, 4);
      const value = this.readString(buf);
      out.push(name, value);
      if (first >= 0x10) markNeverIndexed(out, name);
      listSize += name.length + value.length + 32;
      sawField = true;
    }
    return listSize;
  }

  /**
   * Steps over one field of a block whose list is already too large: the table is kept in step
   * (literals with incremental indexing are still added) but nothing is added to a list, and
   * strings the table does not need are skipped unread. Returns the field's size.
   */
  private skipField(buf: Buffer, sawField: boolean): number {
    const first = buf[this.pos] as number;
    const table = this.table;
    if (first >= 0x80) {
      const index = this.readInt(buf, 7);
      if (index === 0) throw new HpackError("HPACK: indexed field with index 0");
      if (index <= staticCount) {
        return (staticNames[index] as string).length + (staticValues[index] as string).length + 32;
      }
      const i = index - staticCount;
      if (i > table.length) throw new HpackError(`HPACK: index ${index} is past the table`);
      const slot = table.slotOf(i);
      return (table.names[slot] as string).length + (table.values[slot] as string).length + 32;
    }
    if (first >= 0x40) {
      const name = this.readName(buf, 6);
      const value = this.readString(buf);
      const size = entrySize(name, value);
      while (table.length > 0 && table.size + size > table.maxSize) table.evict();
      if (size <= table.maxSize) table.add(name, value, size);
      return size;
    }
    if (first >= 0x20) {
      if (sawField) throw new HpackError("HPACK: dynamic table size update after a header field");
      const size = this.readInt(buf, 5);
      if (size > this.maxTableSize) {
        throw new HpackError(
          `HPACK: dynamic table size update to ${size} exceeds the limit ${this.maxTableSize}`,
        );
      }
      table.maxSize = size;
      while (table.size > size) table.evict();
      return 0;
    }
    const index = this.readInt(buf, 4);
    let nameLength: number;
    if (index === 0) nameLength = this.skipString(buf);
    else if (index <= staticCount) nameLength = (staticNames[index] as string).length;
    else {
      const i = index - staticCount;
      if (i > table.length) throw new HpackError(`HPACK: name index ${index} is past the table`);
      nameLength = (table.names[table.slotOf(i)] as string).length;
    }
    return nameLength + this.skipString(buf) + 32;
  }

  /** Steps over a string literal; returns its encoded length (a lower bound of its size). */
  private skipString(buf: Buffer): number {
    if (this.pos >= this.end) throw new HpackError("HPACK: truncated header block");
    const length = this.readInt(buf, 7);
    if (this.pos + length > this.end) throw new HpackError("HPACK: truncated string literal");
    this.pos += length;
    return length;
  }

  /** A literal field's name: an index in the first byte's low `prefixBits`, or 0 and a string. */
  private readName(buf: Buffer, prefixBits: number): string {
    const index = this.readInt(buf, prefixBits);
    if (index === 0) return this.readString(buf);
    if (index <= staticCount) return staticNames[index] as string;
    const i = index - staticCount;
    if (i > this.table.length) throw new HpackError(`HPACK: name index ${index} is past the table`);
    return this.table.names[this.table.slotOf(i)] as string;
  }

  /** An integer (RFC 7541 5.1) starting in the low `prefixBits` of the byte at `pos`. */
  private readInt(buf: Buffer, prefixBits: number): number {
    const max = (1 << prefixBits) - 1;
    let value = (buf[this.pos++] as number) & max;
    if (value < max) return value;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.end) throw new HpackError("HPACK: truncated integer");
      const b = buf[this.pos++] as number;
      value += (b & 0x7f) * 2 ** shift;
      if (value > 0x7fffffff || shift > 28) throw new HpackError("HPACK: integer overflow");
      if (b < 0x80) return value;
    }
  }

  /** A string literal (RFC 7541 5.2), Huffman-coded or raw, as latin1 characters. */
  private readString(buf: Buffer): string {
    if (this.pos >= this.end) throw new HpackError("HPACK: truncated header block");
    const huffman = (buf[this.pos] as number) >= 0x80;
    const length = this.readInt(buf, 7);
    const start = this.pos;
    const end = start + length;
    if (end > this.end) throw new HpackError("HPACK: truncated string literal");
    this.pos = end;
    if (length === 0) return "";
    if (!huffman) return octetsToString(buf, start, end);
    const decoded = decodeHuffman(buf, start, end);
    if (decoded === undefined) throw new HpackError("HPACK: invalid Huffman-coded string");
    return decoded;
  }
}

// Encoder representations, as planned by the first pass of encode().
const INDEXED = 0;
const INCREMENTAL = 1;
const WITHOUT_INDEXING = 2;
const NEVER_INDEXED = 3;

// First-byte pattern and integer prefix of each literal representation.
const literalPattern = [0, 0x40, 0x00, 0x10];
const literalPrefix = [0, 6, 4, 4];

/**
 * Names whose values are secrets: never indexed, so neither a connection shared by many callers
 * nor any intermediary stores them (RFC 7541 7.1.3). agent_token carries dial-in agents' tokens.
 */
const sensitiveNames = new Set(["authorization", "proxy-authorization", "cookie", "agent_token"]);

/** Values this long are sent as never indexed rather than flushing the table. */
export const maxIndexedValueLength = 512;

/** grpc-timeout differs on every call: indexing it would only evict entries that repeat. */
const unindexedNames = new Set(["grpc-timeout"]);

interface StaticName {
  index: number;
  /** Full-entry indexes by value, for names the table lists with values. */
  values: Map<string, number>;
}

const staticByName = new Map<string, StaticName>();
for (let index = 1; index <= staticCount; index++) {
  const name = staticNames[index] as string;
  let entry = staticByName.get(name);
  if (entry === undefined) {
    entry = { index, values: new Map() };
    staticByName.set(name, entry);
  }
  const value = staticValues[index] as string;
  if (!entry.values.has(value)) entry.values.set(value, index);
}

interface DynamicName {
  /** Insertion number of the newest entry with this name. */
  newest: number;
  /** Insertion number of the entry for each value. */
  values: Map<string, number>;
}

/** The number of octets `value` takes as an HPACK integer with a `prefixBits` prefix. */
function intLength(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) return 1;
  let n = 2;
  for (let rest = value - max; rest >= 0x80; rest = Math.floor(rest / 0x80)) n++;
  return n;
}

function writeInt(buf: Buffer, pos: number, pattern: number, value: number, prefixBits: number) {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    buf[pos] = pattern | value;
    return pos + 1;
  }
  buf[pos++] = pattern | max;
  let rest = value - max;
  while (rest >= 0x80) {
    buf[pos++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  buf[pos] = rest;
  return pos + 1;
}

function writeString(buf: Buffer, pos: number, str: string): number {
  const length = str.length;
  let p = writeInt(buf, pos, 0, length, 7);
  // A short string is cheaper to copy here than through Buffer.write's native call.
  if (length < 32) {
    for (let i = 0; i < length; i++) buf[p++] = str.charCodeAt(i);
    return p;
  }
  return p + buf.write(str, p, length, "latin1");
}

function checkLatin1(str: string): void {
  for (let i = 0; i < str.length; i++) {
    if (str.charCodeAt(i) > 0xff) {
      throw new TypeError(`HPACK: header string has a character above U+00FF: ${str}`);
    }
  }
}

/**
 * Encodes the header blocks of one HTTP/2 connection. Strings are sent as octets, one per
 * character (latin1), without Huffman coding.
 */
export class HpackEncoder {
  private readonly table: DynamicTable;
  private readonly byName = new Map<string, DynamicName>();
  /** The smallest size set since the last block, or -1 when no size update is due. */
  private pendingMinSize = -1;
  // Per field of the block being encoded: representation, then index (0: literal name).
  private plan = new Int32Array(64);

  /** The decoder's table size limit (peer's SETTINGS_HEADER_TABLE_SIZE); default 4096. */
  constructor(maxTableSize = defaultHeaderTableSize) {
    // Both sides start from the protocol default; any other size is announced in the first block.
    this.table = new DynamicTable(defaultHeaderTableSize);
    this.setMaxTableSize(maxTableSize);
  }

  /** The dynamic table's size in octets (RFC 7541 4.1). */
  get tableSize(): number {
    return this.table.size;
  }

  /** The dynamic table's entries, newest first, as a flat name/value list. */
  tableEntries(): HeaderList {
    return this.table.entries();
  }

  /** Peer changed SETTINGS_HEADER_TABLE_SIZE: shrink/grow, and emit a size update at the start of the next block. */
  setMaxTableSize(size: number): void {
    const effective = Math.min(size, maxEncoderTableSize);
    if (effective === this.table.maxSize) return;
    this.table.maxSize = effective;
    while (this.table.size > effective) this.evict();
    this.pendingMinSize =
      this.pendingMinSize < 0 ? effective : Math.min(this.pendingMinSize, effective);
  }

  /** Encodes a header list into a fresh Buffer (one allocation; exact length). */
  encode(headers: readonly string[]): Buffer {
    const count = headers.length >>> 1;
    if (headers.length !== count * 2) {
      throw new TypeError("HPACK: a header list needs a value for every name");
    }
    if (this.plan.length < count * 2) this.plan = new Int32Array(count * 4);
    const plan = this.plan;
    const table = this.table;
    const neverIndexed = neverIndexedByList.get(headers as HeaderList);

    let length = 0;
    const pendingMin = this.pendingMinSize;
    if (pendingMin >= 0) {
      // A shrink below the final size must be signalled too, so the peer evicts as we did.
      if (pendingMin < table.maxSize) length += intLength(pendingMin, 5);
      length += intLength(table.maxSize, 5);
    }

    // Pass 1: choose each field's representation, update the table, and size the output.
    for (let f = 0; f < count; f++) {
      const name = headers[2 * f] as string;
      const value = headers[2 * f + 1] as string;
      const fromStatic = staticByName.get(name);
      const staticIndex =
        neverIndexed?.has(name) === true ? undefined : fromStatic?.values.get(value);
      if (staticIndex !== undefined) {
        plan[2 * f] = INDEXED;
        plan[2 * f + 1] = staticIndex;
        length += intLength(staticIndex, 7);
        continue;
      }
      const fromDynamic = this.byName.get(name);
      const inserted =
        neverIndexed?.has(name) === true ? undefined : fromDynamic?.values.get(value);
      if (inserted !== undefined) {
        const index = table.inserted - inserted + staticCount;
        plan[2 * f] = INDEXED;
        plan[2 * f + 1] = index;
        length += intLength(index, 7);
        continue;
      }
      let nameIndex = 0;
      if (fromStatic !== undefined) nameIndex = fromStatic.index;
      else if (fromDynamic !== undefined) {
        nameIndex = table.inserted - fromDynamic.newest + staticCount;
      }
      const size = entrySize(name, value);
      let kind = INCREMENTAL;
      if (
        sensitiveNames.has(name) ||
        value.length > maxIndexedValueLength ||
        neverIndexed?.has(name) === true
      ) {
        kind = NEVER_INDEXED;
      } else if (unindexedNames.has(name) || size > table.maxSize) kind = WITHOUT_INDEXING;
      plan[2 * f] = kind;
      plan[2 * f + 1] = nameIndex;
      length += intLength(nameIndex, literalPrefix[kind] as number);
      if (nameIndex === 0) {
        checkLatin1(name);
        length += intLength(name.length, 7) + name.length;
      }
      checkLatin1(value);
      length += intLength(value.length, 7) + value.length;
      if (kind === INCREMENTAL) this.insert(name, value, size);
    }

    // Pass 2: write what pass 1 planned.
    const buf = Buffer.allocUnsafe(length);
    let pos = 0;
    if (pendingMin >= 0) {
      if (pendingMin < table.maxSize) pos = writeInt(buf, pos, 0x20, pendingMin, 5);
      pos = writeInt(buf, pos, 0x20, table.maxSize, 5);
      this.pendingMinSize = -1;
    }
    for (let f = 0; f < count; f++) {
      const kind = plan[2 * f] as number;
      const index = plan[2 * f + 1] as number;
      if (kind === INDEXED) {
        pos = writeInt(buf, pos, 0x80, index, 7);
        continue;
      }
      pos = writeInt(
        buf,
        pos,
        literalPattern[kind] as number,
        index,
        literalPrefix[kind] as number,
      );
      if (index === 0) pos = writeString(buf, pos, headers[2 * f] as string);
      pos = writeString(buf, pos, headers[2 * f + 1] as string);
    }
    return buf;
  }

  private insert(name: string, value: string, size: number): void {
    const table = this.table;
    while (table.size + size > table.maxSize) this.evict();
    const n = table.inserted;
    table.add(name, value, size);
    const entry = this.byName.get(name);
    if (entry === undefined) {
      this.byName.set(name, { newest: n, values: new Map([[value, n]]) });
    } else {
      entry.newest = n;
      entry.values.set(value, n);
    }
  }

  private evict(): void {
    const table = this.table;
    const n = table.inserted - table.length;
    const slot = n & table.mask;
    const name = table.names[slot] as string;
    const entry = this.byName.get(name);
    if (entry !== undefined) {
      // Entries leave oldest first, so the newest of a name leaving means none of it is left.
      if (entry.newest === n) this.byName.delete(name);
      else entry.values.delete(table.values[slot] as string);
    }
    table.evict();
  }
}
