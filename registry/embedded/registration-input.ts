// Validates PUT /v1/agent/service/register bodies the way Consul decodes them: field names match
// case-insensitively (Go's encoding/json) and snake_case aliases are accepted.
import type { CheckStatus } from "../../platform/consul/consul-types";
import { parseGoDuration } from "./go-duration";
import {
  type CheckKind,
  type CheckSpec,
  isCheckStatus,
  RegistryHttpError,
  type ServiceSpec,
} from "./registry-model";

/** A decoded JSON object whose fields are looked up as Consul does. */
class Fields {
  private readonly byKey = new Map<string, unknown>();

  constructor(
    readonly where: string,
    raw: Record<string, unknown>,
  ) {
    for (const [key, value] of Object.entries(raw)) {
      this.byKey.set(normaliseKey(key), value);
    }
  }

  get(name: string): unknown {
    return this.byKey.get(normaliseKey(name));
  }

  string(name: string): string | undefined {
    const value = this.get(name);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") throw decodeError(`${this.where}${name} must be a string`);
    return value;
  }

  bool(name: string): boolean {
    const value = this.get(name);
    if (value === undefined || value === null) return false;
    if (typeof value !== "boolean") throw decodeError(`${this.where}${name} must be a boolean`);
    return value;
  }

  duration(name: string): number | undefined {
    try {
      return parseGoDuration(`${this.where}${name}`, this.get(name));
    } catch (err) {
      throw decodeError((err as Error).message);
    }
  }
}

const normaliseKey = (key: string) => key.toLowerCase().replaceAll("_", "");

const decodeError = (detail: string) =>
  new RegistryHttpError(400, `Request decode failed: ${detail}`);

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw decodeError(`${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

const metaKeyPattern = /^[a-zA-Z0-9_-]+$/;

function parseMeta(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  const raw = asObject(value, "Meta");
  const entries = Object.entries(raw);
  if (entries.length > 64) {
    throw new RegistryHttpError(
      400,
      "Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs",
    );
  }
  const meta: Record<string, string> = {};
  for (const [key, v] of entries) {
    if (typeof v !== "string") throw decodeError(`Meta[${key}] must be a string`);
    if (!metaKeyPattern.test(key) || key.length > 128 || key.startsWith("consul-")) {
      throw new RegistryHttpError(
        400,
        `Invalid Service Meta: Couldn't load metadata pair ('${key}', '${v}'): Key is not valid`,
      );
    }
    if (v.length > 512) {
      throw new RegistryHttpError(
        400,
        `Invalid Service Meta: Value is too long (limit: 512 characters) for key '${key}'`,
      );
    }
    meta[key] = v;
  }
  return meta;
}

function parseTags(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((t) => typeof t !== "string")) {
    throw decodeError("Tags must be an array of strings");
  }
  return value as string[];
}

function parseHeader(value: unknown): Record<string, string[]> {
  if (value === undefined || value === null) return {};
  const header: Record<string, string[]> = {};
  for (const [key, values] of Object.entries(asObject(value, "Header"))) {
    if (!Array.isArray(values) || values.some((v) => typeof v !== "string")) {
      throw decodeError(`Header[${key}] must be an array of strings`);
    }
    header[key] = values as string[];
  }
  return header;
}

const invalidCheck = (detail: string) => new RegistryHttpError(400, `Invalid check: ${detail}`);

const hostPortPattern = /^(\[[0-9a-fA-F:.]+\]|[^\s/:]+):(\d{1,5})$/;

function validateHostPort(field: string, value: string): void {
  const match = hostPortPattern.exec(value);
  if (!match || Number(match[2]) > 65535) {
    throw invalidCheck(`${field} must be host:port, got ${JSON.stringify(value)}`);
  }
}

/** Decodes one check definition; index and count name checks that carry no CheckID, like Consul. */
function parseCheck(
  raw: unknown,
  service: ServiceSpec,
  position: number,
  count: number,
): CheckSpec {
  const f = new Fields("Check.", asObject(raw, "Check"));
  const targets: [CheckKind, string | undefined][] = [
    ["grpc", f.string("GRPC")],
    ["tcp", f.string("TCP")],
    ["http", f.string("HTTP")],
  ];
  for (const unsupported of [
    "Args",
    "ScriptArgs",
    "DockerContainerID",
    "H2PING",
    "UDP",
    "AliasService",
    "OSService",
  ]) {
    if (f.get(unsupported) !== undefined && f.get(unsupported) !== "") {
      throw invalidCheck(`${unsupported} checks are not supported by the embedded registry`);
    }
  }
  const given = targets.filter(([, target]) => target !== undefined && target !== "");
  const intervalMs = f.duration("Interval") ?? 0;
  const ttlMs = f.duration("TTL") ?? 0;
  if (given.length > 1) throw invalidCheck("only one of GRPC, TCP and HTTP may be set");
  if (intervalMs > 0 && ttlMs > 0) throw invalidCheck("Interval and TTL cannot both be specified");
  const [kind, target] = given[0] ?? ["ttl", ""];
  if (kind !== "ttl" && intervalMs <= 0) {
    throw invalidCheck("Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or gRPC checks");
  }
  if (kind === "ttl" && ttlMs <= 0) throw invalidCheck("TTL must be > 0 for TTL checks");
  const timeoutMs = f.duration("Timeout");
  if (timeoutMs !== undefined && timeoutMs < 0) throw invalidCheck("Timeout must be >= 0");
  const targetText = target ?? "";
  if (kind === "tcp") validateHostPort("TCP", targetText);
  if (kind === "grpc") validateHostPort("GRPC", targetText.split("/")[0] ?? "");
  if (kind === "http" && !URL.canParse(targetText)) {
    throw invalidCheck(`HTTP must be a URL, got ${JSON.stringify(targetText)}`);
  }
  const status = f.get("Status");
  if (status !== undefined && status !== null && status !== "" && !isCheckStatus(status)) {
    throw invalidCheck(
      `Status must be passing, warning or critical, got ${JSON.stringify(status)}`,
    );
  }
  const deregisterAfterMs = f.duration("DeregisterCriticalServiceAfter");
  return {
    id:
      f.string("CheckID") ||
      f.string("ID") ||
      `service:${service.id}${count > 1 ? `:${position + 1}` : ""}`,
    name: f.string("Name") || `Service '${service.name}' check`,
    notes: f.string("Notes") ?? "",
    kind,
    target: targetText,
    grpcUseTls: f.bool("GRPCUseTLS"),
    tlsSkipVerify: f.bool("TLSSkipVerify"),
    method: f.string("Method") || "GET",
    header: parseHeader(f.get("Header")),
    intervalMs: kind === "ttl" ? 0 : intervalMs,
    timeoutMs: timeoutMs || undefined,
    ttlMs,
    deregisterAfterMs: deregisterAfterMs || undefined,
    initialStatus: isCheckStatus(status) ? status : "critical",
  };
}

export interface ParsedRegistration {
  service: ServiceSpec;
  checks: CheckSpec[];
}

export function parseServiceRegistration(body: unknown): ParsedRegistration {
  const f = new Fields("", asObject(body, "body"));
  const name = f.string("Name") ?? "";
  if (name === "") throw new RegistryHttpError(400, "Missing service name");
  const port = f.get("Port") ?? 0;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw decodeError("Port must be a whole number from 0 to 65535");
  }
  const service: ServiceSpec = {
    id: f.string("ID") || name,
    name,
    tags: parseTags(f.get("Tags")),
    address: f.string("Address") ?? "",
    port,
    meta: parseMeta(f.get("Meta")),
  };
  const rawChecks: unknown[] = [];
  const single = f.get("Check");
  if (single !== undefined && single !== null) rawChecks.push(single);
  const many = f.get("Checks");
  if (many !== undefined && many !== null) {
    if (!Array.isArray(many)) throw decodeError("Checks must be an array");
    rawChecks.push(...many);
  }
  const checks = rawChecks.map((raw, i) => parseCheck(raw, service, i, rawChecks.length));
  const ids = new Set<string>();
  for (const check of checks) {
    if (ids.has(check.id)) throw invalidCheck(`duplicate CheckID ${JSON.stringify(check.id)}`);
    ids.add(check.id);
  }
  return { service, checks };
}

/** Decodes PUT /v1/agent/check/update/:id: {Status, Output}. */
export function parseCheckUpdate(body: unknown): { status: CheckStatus; output: string } {
  const f = new Fields("", asObject(body, "body"));
  const status = f.get("Status");
  if (!isCheckStatus(status)) {
    throw new RegistryHttpError(400, `Invalid check status: ${JSON.stringify(status ?? "")}`);
  }
  return { status, output: f.string("Output") ?? "" };
}
