// Reads one string field from protobuf wire bytes without decoding the message: enough for a
// proxy to route on a request field while passing the bytes through untouched.

export class WireFormatError extends Error {
  override readonly name = "WireFormatError";
}

enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  StartGroup = 3,
  EndGroup = 4,
  Fixed32 = 5,
}

const maxFieldNumber = 2 ** 29 - 1;
const utf8 = new TextDecoder("utf-8", { fatal: true });

// Position after the last varint read. The scan is synchronous, so one module-level cursor is
// safe, and it spares a closure per call on the routing path.
let cursor = 0;

/** Reads the varint at `pos`, leaving `cursor` after it. */
function readVarint(bytes: Uint8Array, pos: number): number {
  const end = bytes.length;
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= end) throw new WireFormatError("truncated varint");
    const b = bytes[pos++] as number;
    if (shift < 28) {
      result |= (b & 0x7f) << shift;
    } else if (shift < 53) {
      result += (b & 0x7f) * 2 ** shift;
    } else if (shift >= 70) {
      throw new WireFormatError("varint longer than 10 bytes");
    }
    if ((b & 0x80) === 0) {
      cursor = pos;
      return result;
    }
    shift += 7;
  }
}

function skip(bytes: Uint8Array, pos: number, n: number): number {
  if (n > bytes.length - pos) throw new WireFormatError("field runs past the end of the message");
  return pos + n;
}

/**
 * Returns the value of string field `fieldNumber` (the last occurrence wins, as in protobuf),
 * or "" when the field is absent. Throws WireFormatError for bytes that are not a valid message.
 */
export function readStringField(bytes: Uint8Array, fieldNumber: number): string {
  let pos = 0;
  let foundAt = -1;
  let foundEnd = -1;
  const end = bytes.length;

  while (pos < end) {
    const tag = readVarint(bytes, pos);
    pos = cursor;
    const field = Math.floor(tag / 8);
    const type = tag & 7;
    if (field === 0 || field > maxFieldNumber) {
      throw new WireFormatError(`invalid field number ${field}`);
    }
    switch (type) {
      case WireType.Varint:
        readVarint(bytes, pos);
        pos = cursor;
        break;
      case WireType.Fixed64:
        pos = skip(bytes, pos, 8);
        break;
      case WireType.LengthDelimited: {
        const length = readVarint(bytes, pos);
        const start = cursor;
        pos = skip(bytes, start, length);
        if (field === fieldNumber) {
          foundAt = start;
          foundEnd = pos;
        }
        break;
      }
      case WireType.Fixed32:
        pos = skip(bytes, pos, 4);
        break;
      case WireType.StartGroup:
      case WireType.EndGroup:
        // proto3 messages never contain groups; a proxy has no reason to walk them.
        throw new WireFormatError(`unexpected group in field ${field}`);
      default:
        throw new WireFormatError(`unknown wire type ${type} in field ${field}`);
    }
  }
  if (foundAt < 0) return "";
  try {
    return utf8.decode(bytes.subarray(foundAt, foundEnd));
  } catch {
    throw new WireFormatError(`field ${fieldNumber} is not valid UTF-8`);
  }
}
