// The request form's model: protobuf JSON objects edited field by field, validated by protobuf-es.
import {
  type DescField,
  type DescMessage,
  fromJson,
  type JsonObject,
  type JsonValue,
  ScalarType,
  toJson,
} from "@bufbuild/protobuf";

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

export function scalarTypeLabel(scalar: ScalarType): string {
  return ScalarType[scalar].toLowerCase();
}

/** A field's type as it reads in the .proto: "string", "repeated string", "map<string, string>". */
export function fieldTypeLabel(field: DescField): string {
  switch (field.fieldKind) {
    case "scalar":
      return scalarTypeLabel(field.scalar);
    case "enum":
      return field.enum.name;
    case "message":
      return field.message.name;
    case "list":
      return `repeated ${
        field.listKind === "scalar"
          ? scalarTypeLabel(field.scalar)
          : field.listKind === "enum"
            ? field.enum.name
            : field.message.name
      }`;
    case "map": {
      const value =
        field.mapKind === "scalar"
          ? scalarTypeLabel(field.scalar)
          : field.mapKind === "enum"
            ? field.enum.name
            : field.message.name;
      return `map<${scalarTypeLabel(field.mapKey)}, ${value}>`;
    }
  }
}

const integer32 = new Set([
  ScalarType.INT32,
  ScalarType.SINT32,
  ScalarType.SFIXED32,
  ScalarType.UINT32,
  ScalarType.FIXED32,
]);
const integer64 = new Set([
  ScalarType.INT64,
  ScalarType.SINT64,
  ScalarType.SFIXED64,
  ScalarType.UINT64,
  ScalarType.FIXED64,
]);
const unsigned = new Set([
  ScalarType.UINT32,
  ScalarType.FIXED32,
  ScalarType.UINT64,
  ScalarType.FIXED64,
]);

export function isNumeric(scalar: ScalarType): boolean {
  return (
    integer32.has(scalar) ||
    integer64.has(scalar) ||
    scalar === ScalarType.DOUBLE ||
    scalar === ScalarType.FLOAT
  );
}

/**
 * Reads what an operator typed into a scalar input as its protobuf JSON value. Empty input means
 * "unset" (undefined). 64-bit integers stay strings, as protobuf JSON writes them.
 */
export function parseScalarInput(
  scalar: ScalarType,
  raw: string,
): ParseResult<JsonValue | undefined> {
  const text = raw.trim();
  if (scalar === ScalarType.STRING) return { ok: true, value: raw === "" ? undefined : raw };
  if (text === "") return { ok: true, value: undefined };
  if (scalar === ScalarType.BOOL) {
    if (text === "true" || text === "false") return { ok: true, value: text === "true" };
    return { ok: false, error: "must be true or false" };
  }
  if (scalar === ScalarType.BYTES) {
    return /^[A-Za-z0-9+/_-]*={0,2}$/.test(text)
      ? { ok: true, value: text }
      : { ok: false, error: "must be base64" };
  }
  if (integer32.has(scalar) || integer64.has(scalar)) {
    if (!/^-?\d+$/.test(text)) return { ok: false, error: "must be a whole number" };
    if (unsigned.has(scalar) && text.startsWith("-"))
      return { ok: false, error: "must not be negative" };
    const big = BigInt(text);
    const bits = integer32.has(scalar) ? 32n : 64n;
    const min = unsigned.has(scalar) ? 0n : -(2n ** (bits - 1n));
    const max = unsigned.has(scalar) ? 2n ** bits - 1n : 2n ** (bits - 1n) - 1n;
    if (big < min || big > max) return { ok: false, error: `must be from ${min} to ${max}` };
    return { ok: true, value: integer64.has(scalar) ? text : Number(text) };
  }
  const value = Number(text);
  if (!Number.isFinite(value)) return { ok: false, error: "must be a number" };
  return { ok: true, value };
}

/** The text an input shows for a JSON value. */
export function scalarInputText(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** Validates the object against the message schema and returns its canonical protobuf JSON. */
export function canonicalJson(desc: DescMessage, value: JsonObject): ParseResult<string> {
  try {
    const message = fromJson(desc, value);
    return { ok: true, value: JSON.stringify(toJson(desc, message), null, 2) };
  } catch (cause) {
    return { ok: false, error: cause instanceof Error ? cause.message : String(cause) };
  }
}

/** Parses JSON text written in the editor; the result must be an object the schema accepts. */
export function parseRequestText(desc: DescMessage, text: string): ParseResult<JsonObject> {
  let parsed: unknown;
  try {
    parsed = text.trim() === "" ? {} : JSON.parse(text);
  } catch (cause) {
    return {
      ok: false,
      error: `Not JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
    };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { ok: false, error: `${desc.name} must be a JSON object` };
  }
  const object = parsed as JsonObject;
  const checked = canonicalJson(desc, object);
  return checked.ok ? { ok: true, value: object } : checked;
}

/** Returns a copy with one field set, or removed when the value is undefined. */
export function setField(
  object: JsonObject,
  field: DescField,
  value: JsonValue | undefined,
): JsonObject {
  const next: JsonObject = { ...object };
  // The JSON editor may have used the proto name; the form writes the JSON name only.
  delete next[field.name];
  delete next[field.jsonName];
  if (value !== undefined) next[field.jsonName] = value;
  return next;
}

/** A field's value in an object, accepting its proto name as well as its JSON name. */
export function getField(object: JsonObject, field: DescField): JsonValue | undefined {
  return object[field.jsonName] ?? object[field.name];
}

/** An empty list item or map value of the field's element type, for "Add" buttons. */
export function emptyElement(field: DescField): JsonValue {
  const kind =
    field.fieldKind === "list"
      ? field.listKind
      : field.fieldKind === "map"
        ? field.mapKind
        : "scalar";
  if (kind === "message") return {};
  if (kind === "enum") {
    const first = field.enum?.values[0];
    return first?.name ?? 0;
  }
  const scalar = field.scalar;
  if (scalar === ScalarType.BOOL) return false;
  if (scalar !== undefined && isNumeric(scalar)) return 0;
  return "";
}
