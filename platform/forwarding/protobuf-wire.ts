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

/**
 * Returns the value of string field `fieldNumber` (the last occurrence wins, as in protobuf),
 * or "" when the field is absent. Throws WireFormatError for bytes that are not a valid message.
 */
export function readStringField(bytes: Uint8Array, fieldNumber: number): string {
  let pos = 0;
  let found: Uint8Array | undefined;
  const end = bytes.length;

  const varint = (): number => {
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
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
  };
  const skip = (n: number) => {
    if (n > end - pos) throw new WireFormatError("field runs past the end of the message");
    pos += n;
  };

  while (pos < end) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const type = tag & 7;
    if (field === 0 || field > maxFieldNumber) {
      throw new WireFormatError(`invalid field number ${field}`);
    }
    switch (type) {
      case WireType.Varint:
        varint();
        break;
      case WireType.Fixed64:
        skip(8);
        break;
      case WireType.LengthDelimited: {
        const length = varint();
        const start = pos;
        skip(length);
        if (field === fieldNumber) found = bytes.subarray(start, pos);
        break;
      }
      case WireType.Fixed32:
        skip(4);
        break;
      case WireType.StartGroup:
      case WireType.EndGroup:
        // proto3 messages never contain groups; a proxy has no reason to walk them.
        throw new WireFormatError(`unexpected group in field ${field}`);
      default:
        throw new WireFormatError(`unknown wire type ${type} in field ${field}`);
    }
  }
  if (found === undefined) return "";
  try {
    return utf8.decode(found);
  } catch {
    throw new WireFormatError(`field ${fieldNumber} is not valid UTF-8`);
  }
}
