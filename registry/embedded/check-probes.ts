// Active probes for gRPC, TCP and HTTP checks, with Consul's status rules and output texts.
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb";
import type { CheckStatus } from "../../platform/consul/consul-types";
import type { CheckTls } from "./check-tls";
import type { CheckSpec } from "./registry-model";

export interface ProbeResult {
  status: CheckStatus;
  output: string;
}

export interface Probe {
  run(timeoutMs: number, signal: AbortSignal): Promise<ProbeResult>;
  /** Releases connections the probe keeps between runs. */
  close(): void;
}

/** Consul keeps at most this much check output. */
export const maxOutputBytes = 4096;

function truncate(text: string): string {
  return text.length > maxOutputBytes ? `${text.slice(0, maxOutputBytes)} ...(truncated)` : text;
}

/** Text of an error as Go's grpc status prints it: "rpc error: code = X desc = Y". */
function rpcError(err: unknown): string {
  const ce = ConnectError.from(err);
  return `rpc error: code = ${Code[ce.code]} desc = ${ce.rawMessage}`;
}

/** TLS options of a check: the registry's CA and client certificate, unless TLSSkipVerify. */
function tlsOptions(spec: CheckSpec, tls: CheckTls | undefined) {
  return {
    rejectUnauthorized: !spec.tlsSkipVerify,
    ...(tls?.ca ? { ca: tls.ca } : {}),
    ...(tls?.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
  };
}

export function createGrpcProbe(spec: CheckSpec, tls?: CheckTls): Probe {
  const slash = spec.target.indexOf("/");
  const hostPort = slash === -1 ? spec.target : spec.target.slice(0, slash);
  const service = slash === -1 ? "" : spec.target.slice(slash + 1);
  const baseUrl = `${spec.grpcUseTls ? "https" : "http"}://${hostPort}`;
  // One connection per check, reused across runs like a gRPC channel, closed with the check.
  const sessions = new Http2SessionManager(
    baseUrl,
    { idleConnectionTimeoutMs: Math.max(spec.intervalMs * 3, 30_000) },
    spec.grpcUseTls ? tlsOptions(spec, tls) : {},
  );
  const client = createClient(Health, createGrpcTransport({ baseUrl, sessionManager: sessions }));
  return {
    async run(timeoutMs, signal) {
      try {
        const response = await client.check({ service }, { timeoutMs, signal });
        if (response.status !== ServingStatus.SERVING) {
          return {
            status: "critical",
            output: `Health check failed: gRPC ${spec.target} serving status: ${ServingStatus[response.status]}`,
          };
        }
        return { status: "passing", output: `gRPC check ${spec.target}: success` };
      } catch (err) {
        return { status: "critical", output: `Health check failed: ${rpcError(err)}` };
      }
    },
    close() {
      sessions.abort();
    },
  };
}

export function createTcpProbe(spec: CheckSpec): Probe {
  const colon = spec.target.lastIndexOf(":");
  const host = spec.target.slice(0, colon).replace(/^\[|\]$/g, "");
  const port = Number(spec.target.slice(colon + 1));
  return {
    run(timeoutMs, signal) {
      return new Promise<ProbeResult>((resolve) => {
        const socket = net.connect({ host, port });
        const done = (result: ProbeResult) => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          socket.destroy();
          resolve(result);
        };
        const fail = (reason: string) =>
          done({ status: "critical", output: `dial tcp ${spec.target}: ${reason}` });
        const onAbort = () => fail("operation was canceled");
        const timer = setTimeout(() => fail("i/o timeout"), timeoutMs);
        signal.addEventListener("abort", onAbort, { once: true });
        socket.once("connect", () =>
          done({ status: "passing", output: `TCP connect ${spec.target}: Success` }),
        );
        socket.once("error", (err: NodeJS.ErrnoException) =>
          fail(err.code === "ECONNREFUSED" ? "connect: connection refused" : err.message),
        );
      });
    },
    close() {},
  };
}

export function createHttpProbe(spec: CheckSpec, tls?: CheckTls): Probe {
  const url = new URL(spec.target);
  const get = url.protocol === "https:" ? https.request : http.request;
  const headers: Record<string, string | string[]> = {
    "User-Agent": "Consul Health Check",
    Accept: "text/plain, text/*, */*",
    ...spec.header,
  };
  return {
    run(timeoutMs, signal) {
      return new Promise<ProbeResult>((resolve) => {
        const request = get(url, {
          method: spec.method,
          headers,
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
          ...(url.protocol === "https:" ? tlsOptions(spec, tls) : {}),
          agent: false,
        });
        request.once("response", (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on("data", (chunk: Buffer) => {
            if (size < maxOutputBytes) chunks.push(chunk);
            size += chunk.length;
          });
          response.once("end", () => {
            const code = response.statusCode ?? 0;
            const body = Buffer.concat(chunks).toString("utf8");
            const output = truncate(
              `HTTP ${spec.method} ${spec.target}: ${code} ${http.STATUS_CODES[code] ?? ""} Output: ${body}`,
            );
            // Consul's rule: 2xx passing, 429 Too Many Requests warning, anything else critical.
            const status: CheckStatus =
              code >= 200 && code < 300 ? "passing" : code === 429 ? "warning" : "critical";
            resolve({ status, output });
          });
          response.once("error", (err) =>
            resolve({
              status: "critical",
              output: `${spec.method} ${spec.target}: ${err.message}`,
            }),
          );
        });
        request.once("error", (err) => {
          const reason =
            err.name === "AbortError" || err.name === "TimeoutError"
              ? "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
              : err.message;
          resolve({ status: "critical", output: `${spec.method} ${spec.target}: ${reason}` });
        });
        request.end();
      });
    },
    close() {},
  };
}

/** `tls`: CA and client certificate for gRPC-over-TLS and HTTPS checks. Default: none. */
export function createProbe(spec: CheckSpec, tls?: CheckTls): Probe | undefined {
  switch (spec.kind) {
    case "grpc":
      return createGrpcProbe(spec, tls);
    case "tcp":
      return createTcpProbe(spec);
    case "http":
      return createHttpProbe(spec, tls);
    case "ttl":
    case "maintenance":
      return undefined;
  }
}
