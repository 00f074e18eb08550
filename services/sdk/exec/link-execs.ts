// The dial-in agent's side of ExecService over one AgentLink: checks each LinkExec against the
// policy, runs it, and sends its output and end back as LinkExecEvents. Every exec running on a
// link is stopped when the link ends.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { LinkExec, LinkExecEventSchema } from "../../../gen/agentplatform/v1/link_pb";
import type { Logger } from "../../../platform/log";
import { type ExecPolicy, planExec } from "./exec-policy";
import { type ExecProcess, startExecProcess } from "./exec-process";

type LinkExecEventInit = MessageInitShape<typeof LinkExecEventSchema>;

export interface LinkExecsOptions {
  /** Undefined when the agent does not allow exec: every request is refused. */
  policy: ExecPolicy | undefined;
  send(event: LinkExecEventInit): void;
  logger: Logger;
}

export interface LinkExecs {
  start(exec: LinkExec): void;
  credit(execId: string, bytes: number): void;
  /** True when an exec by that id was running. */
  cancel(execId: string): boolean;
  /** Stops every exec (the link is gone). */
  cancelAll(): void;
  running(): number;
}

/** Window used when the router names none. */
const defaultWindowBytes = 256 * 1024;

export function createLinkExecs(options: LinkExecsOptions): LinkExecs {
  const { policy, send, logger } = options;
  const running = new Map<string, ExecProcess | "starting">();
  const cancelledWhileStarting = new Set<string>();

  const fail = (execId: string, error: ConnectError) =>
    send({ execId, errorCode: error.code, errorMessage: error.rawMessage });

  async function run(exec: LinkExec, execId: string) {
    const request = exec.request;
    if (!request)
      return fail(execId, new ConnectError("exec without a request", Code.InvalidArgument));
    if (!policy) {
      return fail(
        execId,
        new ConnectError(
          "exec refused by the agent's exec rule: exec is not enabled on this agent (its operator enables it with an allowlist)",
          Code.PermissionDenied,
        ),
      );
    }
    const plan = planExec(policy, request);
    if (plan instanceof ConnectError) {
      logger.warn("exec refused", {
        exec_id: execId,
        command: request.command,
        reason: plan.rawMessage,
      });
      return fail(execId, plan);
    }
    if (running.size >= policy.maxConcurrent) {
      return fail(
        execId,
        new ConnectError(
          `the agent runs at most ${policy.maxConcurrent} commands at once; retry when one ends`,
          Code.ResourceExhausted,
        ),
      );
    }
    // The caller's deadline bounds the run too; a deadline already past is left to the router,
    // whose cancel arrives anyway (clocks may disagree).
    const deadlineMs = Number(exec.deadlineMs);
    const untilDeadline = deadlineMs > 0 ? deadlineMs - Date.now() : 0;
    if (untilDeadline > 0) plan.runMs = Math.min(plan.runMs, untilDeadline);

    running.set(execId, "starting");
    let proc: ExecProcess;
    try {
      proc = await startExecProcess({
        plan,
        windowBytes: exec.outputWindowBytes || defaultWindowBytes,
        killGraceMs: policy.killGraceMs,
        onOutput: (chunk) =>
          send({ execId, response: { event: { case: "output", value: chunk } } }),
      });
    } catch (err) {
      running.delete(execId);
      cancelledWhileStarting.delete(execId);
      const code = (err as NodeJS.ErrnoException).code;
      return fail(
        execId,
        new ConnectError(
          code === "ENOENT"
            ? `"${request.command}" was not found on the agent, or its working directory does not exist`
            : `"${request.command}" could not be started on the agent (${code ?? "error"})`,
          Code.FailedPrecondition,
        ),
      );
    }
    running.set(execId, proc);
    const log = logger.child({ exec_id: execId, pid: proc.pid });
    log.info("exec started", { command: plan.display, cwd: plan.cwd });
    if (cancelledWhileStarting.delete(execId)) proc.cancel();
    const result = await proc.result;
    running.delete(execId);
    log.info("exec ended", {
      exit_code: result.exitCode,
      signal: result.signal,
      duration_ms: Math.round(result.durationMs),
      truncated: result.truncated,
    });
    send({
      execId,
      response: {
        event: {
          case: "result",
          value: {
            status:
              result.exitCode !== undefined
                ? { case: "exitCode", value: result.exitCode }
                : { case: "signal", value: result.signal ?? "" },
            reason: result.reason,
            durationMs: result.durationMs,
            stdoutBytes: result.stdoutBytes,
            stderrBytes: result.stderrBytes,
            truncated: result.truncated,
            pid: result.pid,
          },
        },
      },
    });
  }

  const cancel = (execId: string) => {
    const entry = running.get(execId);
    if (entry === undefined) return false;
    if (entry === "starting") cancelledWhileStarting.add(execId);
    else entry.cancel();
    return true;
  };

  return {
    start(exec) {
      const execId = exec.request?.execId ?? "";
      if (execId === "" || running.has(execId)) {
        fail(
          execId,
          new ConnectError(`exec id "${execId}" is empty or in use`, Code.AlreadyExists),
        );
        return;
      }
      void run(exec, execId).catch((err: unknown) => {
        running.delete(execId);
        logger.error("exec failed", { exec_id: execId, err });
        fail(execId, new ConnectError("the agent failed to run the command", Code.Internal));
      });
    },
    credit(execId, bytes) {
      const entry = running.get(execId);
      if (entry !== undefined && entry !== "starting") entry.credit(bytes);
    },
    cancel,
    cancelAll() {
      for (const execId of [...running.keys()]) cancel(execId);
    },
    running: () => running.size,
  };
}
