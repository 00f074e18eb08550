// ExecService.Exec run from the console: admins only, with an exec id the console's audit entry
// shares with the router's exec audit, and a detail line saying what ran and how it ended.
import { randomUUID } from "node:crypto";
import { type DescMethod, isMessage } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../gen/agentplatform/v1/console_pb";
import {
  ExecRequestSchema,
  type ExecResponse,
  ExecResponseSchema,
  ExecService,
} from "../gen/agentplatform/v1/exec_pb";
import type { AuditNote } from "./browser-interceptors";
import { type Caller, roleNames } from "./caller";

export const isExecMethod = (method: DescMethod) => method.parent.typeName === ExecService.typeName;

const formatBytes = (n: bigint | number) => {
  const v = Number(n);
  return v < 1024
    ? `${v} B`
    : v < 1024 * 1024
      ? `${(v / 1024).toFixed(1)} KiB`
      : `${(v / 1024 / 1024).toFixed(1)} MiB`;
};

/**
 * Checks the caller may run commands, names the exec (unless the request did), and returns what
 * records the outcome in the audit note.
 */
export function prepareExecInvoke(request: unknown, caller: Caller, note: AuditNote | undefined) {
  if (!isMessage(request, ExecRequestSchema)) {
    throw new ConnectError("ExecService.Exec takes an ExecRequest", Code.InvalidArgument);
  }
  if (caller.role < Role.ADMIN) {
    throw new ConnectError(
      `running commands on agents needs the admin role; "${caller.subject}" has ${roleNames[caller.role]}`,
      Code.PermissionDenied,
    );
  }
  if (request.execId === "") request.execId = randomUUID();
  const line = [request.command, ...request.args].join(" ");
  let result: Extract<ExecResponse["event"], { case: "result" }>["value"] | undefined;
  const writeDetail = () => {
    if (!note) return;
    const ending = !result
      ? "no result"
      : result.status.case === "exitCode"
        ? `exit ${result.status.value}`
        : `signal ${result.status.value || "?"}`;
    const bytes = result
      ? `, out ${formatBytes(result.stdoutBytes)}, err ${formatBytes(result.stderrBytes)}${result.truncated ? " (cut)" : ""}`
      : "";
    note.detail = `${line} → ${ending}${bytes}; exec ${request.execId}`;
  };
  writeDetail();
  return {
    seen(message: unknown) {
      if (isMessage(message, ExecResponseSchema) && message.event.case === "result") {
        result = message.event.value;
        writeDetail();
      }
    },
  };
}
