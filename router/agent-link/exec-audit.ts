// The audit record of every ExecService.Exec a router runs on a linked agent, whoever called
// (console, grpcurl, a service): written to the log and, when configured, to a JSON-lines file.
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  ExecEndReason,
  type ExecRequest,
  type ExecResponse,
  ExecStream,
} from "../../gen/agentplatform/v1/exec_pb";
import type { Logger } from "../../platform/log";

export interface ExecAuditRecord {
  at: string;
  /** Token subject of the caller, "anonymous" when the router checks no tokens. */
  subject: string;
  agentId: string;
  linkId: string;
  execId: string;
  command: string;
  args: string[];
  workingDir: string;
  shell: boolean;
  /** gRPC status the call ended with, e.g. "OK", "PERMISSION_DENIED", "CANCELED". */
  code: string;
  message: string;
  exitCode: number | undefined;
  signal: string | undefined;
  reason: string | undefined;
  durationMs: number;
  stdoutBytes: number;
  stderrBytes: number;
  truncated: boolean;
}

export interface ExecAuditSink {
  record(record: ExecAuditRecord): void;
  close(): Promise<void>;
}

export interface ExecAuditSinkOptions {
  logger: Logger;
  /** JSON-lines file records are appended to. Default none: the log only. */
  path?: string;
}

export function createExecAuditSink(options: ExecAuditSinkOptions): ExecAuditSink {
  const log = options.logger;
  let stream: WriteStream | undefined;
  if (options.path !== undefined) {
    mkdirSync(dirname(options.path), { recursive: true });
    stream = createWriteStream(options.path, { flags: "a", mode: 0o600 });
    stream.on("error", (err) => log.error("exec audit write failed", { path: options.path, err }));
  }
  return {
    record(record) {
      log.info("exec audit", { audit: "exec", ...record });
      stream?.write(`${JSON.stringify(record)}\n`);
    },
    close() {
      const s = stream;
      stream = undefined;
      return new Promise<void>((resolve) => (s ? s.end(() => resolve()) : resolve()));
    },
  };
}

/** "PERMISSION_DENIED" for Code.PermissionDenied: the names gRPC tools print. */
function grpcCodeName(code: Code): string {
  if (code === Code.Canceled) return "CANCELLED";
  const name = Code[code];
  return name === undefined ? String(code) : name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** Follows one exec's responses and builds its audit record when it ends. */
export function createExecAuditTracker(request: ExecRequest, subject: string) {
  const startedAt = performance.now();
  const bytes = { [ExecStream.STDOUT]: 0, [ExecStream.STDERR]: 0, [ExecStream.UNSPECIFIED]: 0 };
  let result: Extract<ExecResponse["event"], { case: "result" }>["value"] | undefined;
  return {
    seen(response: ExecResponse) {
      if (response.event.case === "output") {
        bytes[response.event.value.stream] += response.event.value.data.length;
      } else if (response.event.case === "result") {
        result = response.event.value;
      }
    },
    finish(agentId: string, linkId: string, error: unknown): ExecAuditRecord {
      const failure = error === undefined ? undefined : ConnectError.from(error);
      return {
        at: new Date().toISOString(),
        subject,
        agentId,
        linkId,
        execId: request.execId,
        command: request.command,
        args: request.args,
        workingDir: request.workingDir,
        shell: request.shell,
        code: failure ? grpcCodeName(failure.code) : "OK",
        message: failure?.rawMessage ?? "",
        exitCode: result?.status.case === "exitCode" ? result.status.value : undefined,
        signal: result?.status.case === "signal" ? result.status.value : undefined,
        reason: result ? ExecEndReason[result.reason] : undefined,
        durationMs: Math.round(result ? result.durationMs : performance.now() - startedAt),
        stdoutBytes: result ? Number(result.stdoutBytes) : bytes[ExecStream.STDOUT],
        stderrBytes: result ? Number(result.stderrBytes) : bytes[ExecStream.STDERR],
        truncated: result?.truncated ?? false,
      };
    },
  };
}
