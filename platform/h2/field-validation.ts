// What makes a request's or trailers' header list malformed (RFC 9113 8.2 and 8.3): names with
// uppercase letters or characters outside a token, values with NUL, CR or LF or with whitespace
// at either end, connection-specific fields, and pseudo-headers that are unknown, repeated,
// missing, or placed after regular fields. A malformed request is a stream error of type
// PROTOCOL_ERROR (RFC 9113 8.1.1).
import type { HeaderList } from "./hpack";

/** Fields that describe one HTTP/1.1 connection and have no meaning in HTTP/2 (RFC 9113 8.2.2). */
const connectionSpecific = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

// 1 for the octets a field name may hold (RFC 9110 token characters, lowercase only).
const nameOctet = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")
  nameOctet[c.charCodeAt(0)] = 1;

function nameProblem(name: string, from: number): string | undefined {
  if (name.length === from) return "empty field name";
  for (let i = from; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff || nameOctet[c] !== 1) {
      return c >= 0x41 && c <= 0x5a
        ? `uppercase field name "${name}"`
        : `field name "${name}" has a character that is not allowed`;
    }
  }
  return undefined;
}

function valueProblem(name: string, value: string): string | undefined {
  const n = value.length;
  if (n === 0) return undefined;
  let c = value.charCodeAt(0);
  if (c === 0x20 || c === 0x09) return `value of "${name}" starts with whitespace`;
  c = value.charCodeAt(n - 1);
  if (c === 0x20 || c === 0x09) return `value of "${name}" ends with whitespace`;
  for (let i = 0; i < n; i++) {
    c = value.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return `value of "${name}" has NUL, CR or LF`;
  }
  return undefined;
}

/** A regular field (not a pseudo-header) that no HTTP/2 message may carry, or undefined. */
function regularFieldProblem(name: string, value: string): string | undefined {
  const problem = nameProblem(name, 0) ?? valueProblem(name, value);
  if (problem !== undefined) return problem;
  if (connectionSpecific.has(name)) return `connection-specific field "${name}"`;
  if (name === "te" && value !== "trailers") return `te other than "trailers"`;
  return undefined;
}

/** Why a request's header list is malformed, or undefined when it is well formed. */
export function requestFieldProblem(headers: HeaderList): string | undefined {
  let method: string | undefined;
  let scheme = false;
  let path: string | undefined;
  let authority = false;
  let regular = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    const value = headers[i + 1] as string;
    if (name.charCodeAt(0) !== 0x3a /* ":" */) {
      regular = true;
      const problem = regularFieldProblem(name, value);
      if (problem !== undefined) return problem;
      continue;
    }
    if (regular) return `pseudo-header ${name} after a regular field`;
    const problem = valueProblem(name, value);
    if (problem !== undefined) return problem;
    switch (name) {
      case ":method":
        if (method !== undefined) return "repeated :method";
        method = value;
        break;
      case ":scheme":
        if (scheme) return "repeated :scheme";
        scheme = true;
        break;
      case ":path":
        if (path !== undefined) return "repeated :path";
        path = value;
        break;
      case ":authority":
        if (authority) return "repeated :authority";
        authority = true;
        break;
      default:
        return `pseudo-header ${name} is not one of a request's`;
    }
  }
  if (method === undefined) return "no :method";
  if (method === "CONNECT") return undefined;
  if (!scheme) return "no :scheme";
  if (path === undefined || path === "") return "no :path";
  return undefined;
}

/** Why a header list that follows a request's (trailers) is malformed, or undefined. */
export function trailerFieldProblem(headers: HeaderList, endStream: boolean): string | undefined {
  if (!endStream) return "a second header block that does not end the stream";
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (name.charCodeAt(0) === 0x3a) return `pseudo-header ${name} in trailers`;
    const problem = regularFieldProblem(name, headers[i + 1] as string);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
