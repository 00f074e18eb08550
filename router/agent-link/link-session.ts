// One dial-in agent's link, router side: tasks out, results and heartbeats in, cancellation,
// dead-peer detection, and a bound on the tasks the agent runs at once.
import { randomUUID } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ExecRequest, ExecResponse } from "../../gen/agentplatform/v1/exec_pb";
import {
  type AgentHello,
  type AgentMessage,
  type RouterMessage,
  RouterMessageSchema,
} from "../../gen/agentplatform/v1/link_pb";
import type { TaskRequest, TaskResponse } from "../../gen/agentplatform/v1/platform_pb";
import { execLinkFeature, linkErrorCodeKey } from "../../platform/agent-link-protocol";
import { type AsyncQueue, createAsyncQueue } from "../../platform/async-queue";
import type { Logger } from "../../platform/log";
import type { LinkedCallContext } from "./linked-agents";

export interface LinkSessionOptions {
  agentId: string;
  /** Registry service, e.g. "agent-nat". */
  service: string;
  hello: AgentHello;
  /** Kept to re-check the link when the token file changes. */
  token: string;
  /** Tasks the agent runs at once. */
  maxConcurrentTasks: number;
  heartbeatIntervalMs: number;
  /** No message from the agent for this long closes the link. */
  heartbeatTimeoutMs: number;
  /** Exec output the agent may send ahead of the caller reading it, in bytes. */
  execOutputWindowBytes: number;
  logger: Logger;
  /** Called once, when the link closes for any reason. */
  onClose(session: LinkSession, error: ConnectError): void;
}

export interface LinkSession {
  readonly linkId: string;
  readonly agentId: string;
  readonly service: string;
  readonly hello: AgentHello;
  readonly token: string;
  readonly connectedAtMs: number;
  readonly maxConcurrentTasks: number;
  /** Messages for the agent; the AgentLink handler writes them to the stream. */
  readonly outbound: AsyncQueue<RouterMessage>;
  inFlight(): number;
  readonly closed: boolean;
  receive(message: AgentMessage): void;
  /** Sends a task and yields its responses; the last one has done=true. */
  run(
    request: TaskRequest,
    streaming: boolean,
    ctx: LinkedCallContext,
  ): AsyncGenerator<TaskResponse>;
  /** Runs a command on the agent and yields its output; the last message is its result. */
  exec(request: ExecRequest, ctx: LinkedCallContext): AsyncGenerator<ExecResponse>;
  close(error: ConnectError): void;
}

interface PendingTask {
  queue: AsyncQueue<TaskResponse>;
}

interface PendingExec {
  queue: AsyncQueue<ExecResponse>;
  /** Output bytes received and not yet credited back. */
  outstanding: number;
}

/**
 * Output an agent may send past its window before the exec is failed: a pipe read in flight, and
 * once the command exits, what its pipes still hold (Node drains a child's pipes on exit, paused
 * or not) — a few hundred KiB at most.
 */
const execWindowSlackBytes = 1024 * 1024;

const abortError = (signal: AbortSignal) =>
  signal.reason instanceof ConnectError
    ? signal.reason
    : new ConnectError("cancelled by the caller", Code.Canceled);

export function createLinkSession(options: LinkSessionOptions): LinkSession {
  const linkId = randomUUID();
  const log = options.logger.child({ link_id: linkId, agent_id: options.agentId });
  const outbound = createAsyncQueue<RouterMessage>();
  const pending = new Map<string, PendingTask>();
  const execs = new Map<string, PendingExec>();
  let lastHeardMs = Date.now();
  let closed = false;

  type Outgoing = NonNullable<MessageInitShape<typeof RouterMessageSchema>["message"]>;
  const send = (message: Outgoing) =>
    outbound.push(
      create(RouterMessageSchema, { message } as MessageInitShape<typeof RouterMessageSchema>),
    );

  const heartbeat = setInterval(() => {
    const silentMs = Date.now() - lastHeardMs;
    if (silentMs > options.heartbeatTimeoutMs) {
      session.close(
        new ConnectError(
          `agent ${options.agentId} silent for ${silentMs} ms: link presumed dead`,
          Code.Unavailable,
        ),
      );
      return;
    }
    send({ case: "heartbeat", value: { sentAtMs: BigInt(Date.now()) } });
  }, options.heartbeatIntervalMs);
  heartbeat.unref();

  const session: LinkSession = {
    linkId,
    agentId: options.agentId,
    service: options.service,
    hello: options.hello,
    token: options.token,
    connectedAtMs: Date.now(),
    maxConcurrentTasks: options.maxConcurrentTasks,
    outbound,
    inFlight: () => pending.size + execs.size,
    get closed() {
      return closed;
    },
    receive(message) {
      lastHeardMs = Date.now();
      switch (message.message.case) {
        case "heartbeat":
          return;
        case "result": {
          const result = message.message.value;
          const task = pending.get(result.taskId);
          if (task) task.queue.push(result);
          else log.debug("result for a task no longer waited for", { task_id: result.taskId });
          return;
        }
        case "execEvent": {
          const event = message.message.value;
          const exec = execs.get(event.execId);
          if (!exec) return;
          if (event.errorCode > 0) {
            exec.queue.fail(
              new ConnectError(event.errorMessage || "exec failed on the agent", event.errorCode),
            );
            return;
          }
          const response = event.response;
          if (!response) return;
          if (response.event.case === "output") {
            exec.outstanding += response.event.value.data.length;
            if (exec.outstanding > options.execOutputWindowBytes + execWindowSlackBytes) {
              exec.queue.fail(
                new ConnectError(
                  `agent ${options.agentId} sent exec output beyond its credit`,
                  Code.Internal,
                ),
              );
              return;
            }
          }
          exec.queue.push(response);
          if (response.event.case === "result") exec.queue.close();
          return;
        }
        case "hello":
          session.close(new ConnectError("hello sent twice on one link", Code.InvalidArgument));
          return;
        default:
          return;
      }
    },
    async *run(request, streaming, ctx) {
      if (closed) throw new ConnectError(`link to ${options.agentId} is closed`, Code.Unavailable);
      const taskId = request.taskId || randomUUID();
      if (pending.has(taskId)) {
        throw new ConnectError(
          `task "${taskId}" is already running on ${options.agentId}`,
          Code.AlreadyExists,
        );
      }
      if (ctx.signal.aborted) throw abortError(ctx.signal);
      const queue = createAsyncQueue<TaskResponse>();
      pending.set(taskId, { queue });
      send({
        case: "task",
        value: {
          request: { ...request, taskId },
          streaming,
          deadlineMs: BigInt(ctx.deadlineMs === undefined ? 0 : Math.round(ctx.deadlineMs)),
          traceContext: ctx.traceContext ?? {},
        },
      });
      const onAbort = () => queue.fail(abortError(ctx.signal));
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      let finished = false;
      try {
        for await (const response of queue) {
          if (!response.done) {
            if (streaming) yield response;
            continue;
          }
          finished = true;
          const code = Number(response.metadata[linkErrorCodeKey] ?? "");
          if (Number.isInteger(code) && code > 0 && code <= 16) {
            throw new ConnectError(response.error || "task failed on the agent", code);
          }
          yield response;
          return;
        }
      } finally {
        ctx.signal.removeEventListener("abort", onAbort);
        pending.delete(taskId);
        // The caller went away first: tell the agent to stop working on it.
        if (!finished && !closed) {
          send({
            case: "cancel",
            value: {
              taskId,
              reason: ctx.signal.aborted
                ? String(abortError(ctx.signal).rawMessage)
                : "caller gone",
            },
          });
        }
      }
    },
    async *exec(request, ctx) {
      if (closed) throw new ConnectError(`link to ${options.agentId} is closed`, Code.Unavailable);
      if (!options.hello.linkFeatures.includes(execLinkFeature)) {
        throw new ConnectError(
          `agent ${options.agentId} runs an SDK without exec support; update it to run commands`,
          Code.Unimplemented,
        );
      }
      const execId = request.execId || randomUUID();
      if (pending.has(execId) || execs.has(execId)) {
        throw new ConnectError(
          `exec "${execId}" is already running on ${options.agentId}`,
          Code.AlreadyExists,
        );
      }
      if (ctx.signal.aborted) throw abortError(ctx.signal);
      const exec: PendingExec = { queue: createAsyncQueue<ExecResponse>(), outstanding: 0 };
      execs.set(execId, exec);
      const window = options.execOutputWindowBytes;
      send({
        case: "exec",
        value: {
          request: { ...request, execId },
          deadlineMs: BigInt(ctx.deadlineMs === undefined ? 0 : Math.round(ctx.deadlineMs)),
          outputWindowBytes: window,
        },
      });
      const onAbort = () => exec.queue.fail(abortError(ctx.signal));
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      let finished = false;
      let uncredited = 0;
      try {
        for await (const response of exec.queue) {
          if (response.event.case === "result") finished = true;
          yield response;
          // The caller has taken this chunk (the consumer awaits its write): credit it back in
          // batches, so the agent's pipes run while the caller keeps up.
          if (response.event.case === "output") {
            const bytes = response.event.value.data.length;
            exec.outstanding -= bytes;
            uncredited += bytes;
            if (uncredited >= window / 4 && !closed) {
              send({ case: "execCredit", value: { execId, bytes: uncredited } });
              uncredited = 0;
            }
          }
        }
        if (!finished)
          throw new ConnectError("the agent ended the exec without a result", Code.Internal);
      } finally {
        ctx.signal.removeEventListener("abort", onAbort);
        execs.delete(execId);
        // Anything but a result (caller gone, deadline, bad agent output) stops the command: the
        // agent kills its process group. A cancel for an exec the agent already ended is ignored.
        if (!finished && !closed) {
          send({
            case: "cancel",
            value: {
              taskId: execId,
              reason: ctx.signal.aborted
                ? String(abortError(ctx.signal).rawMessage)
                : "caller gone",
            },
          });
        }
      }
    },
    close(error) {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      const lost = new ConnectError(
        `link to agent ${options.agentId} dropped: ${error.rawMessage}`,
        Code.Unavailable,
      );
      for (const task of pending.values()) task.queue.fail(lost);
      pending.clear();
      for (const exec of execs.values()) exec.queue.fail(lost);
      execs.clear();
      outbound.fail(error);
      log.info("link closed", { reason: error.rawMessage, code: Code[error.code] });
      options.onClose(session, error);
    },
  };
  return session;
}
