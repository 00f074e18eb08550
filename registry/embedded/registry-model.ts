// The embedded registry's records: one service instance and the checks that judge it.
import type { CheckStatus } from "../../platform/consul/consul-types";

/** "maintenance" is the check Consul adds for service maintenance mode; nothing runs it. */
export type CheckKind = "grpc" | "tcp" | "http" | "ttl" | "maintenance";

export interface ServiceSpec {
  id: string;
  name: string;
  tags: string[];
  /** Empty when the service uses its node's address, as in Consul. */
  address: string;
  port: number;
  meta: Record<string, string>;
}

export interface CheckSpec {
  id: string;
  name: string;
  notes: string;
  kind: CheckKind;
  /** grpc: "host:port" or "host:port/service"; tcp: "host:port"; http: a URL; ttl: "". */
  target: string;
  grpcUseTls: boolean;
  tlsSkipVerify: boolean;
  /** HTTP checks only. */
  method: string;
  header: Record<string, string[]>;
  /** 0 for TTL checks. */
  intervalMs: number;
  /** Per-run timeout; undefined uses the registry default. */
  timeoutMs: number | undefined;
  /** 0 unless a TTL check. */
  ttlMs: number;
  /** Remove the service once this check has been critical this long. */
  deregisterAfterMs: number | undefined;
  initialStatus: CheckStatus;
}

export interface ServiceRecord extends ServiceSpec {
  createIndex: number;
  modifyIndex: number;
}

export interface CheckRecord {
  spec: CheckSpec;
  /** "" for the node's own checks. */
  serviceId: string;
  serviceName: string;
  serviceTags: string[];
  status: CheckStatus;
  output: string;
  /** When the check last turned critical (ms since epoch); undefined unless critical. */
  criticalSince: number | undefined;
  createIndex: number;
  modifyIndex: number;
}

export const checkStatuses: readonly CheckStatus[] = ["passing", "warning", "critical"];

export function isCheckStatus(value: unknown): value is CheckStatus {
  return typeof value === "string" && (checkStatuses as readonly string[]).includes(value);
}

/** An error answered with an HTTP status and Consul's plain-text reason. */
export class RegistryHttpError extends Error {
  override readonly name = "RegistryHttpError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
