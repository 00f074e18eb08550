// Runs an agent that dials in to a router over AgentLink instead of listening: for agents behind
// NAT or a firewall. It keeps one link up, reconnecting with jittered exponential backoff.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  AgentLink,
  type AgentMessage,
  AgentMessageSchema,
  type LinkTask,
} from "../../gen/agentplatform/v1/link_pb";
import { type TaskResponse, TaskResponseSchema } from "../../gen/agentplatform/v1/platform_pb";
import {
  agentIdHeader,
  agentTokenHeader,
  execLinkFeature,
  linkErrorCodeKey,
} from "../../platform/agent-link-protocol";
import { createAsyncQueue } from "../../platform/async-queue";
import { createLogger, type Logger } from "../../platform/log";
import type { TlsFiles } from "../../platform/tls";
import { executeAgentTask, streamAgentTask } from "./agent-routes";
import { type BackoffOptions, fullJitterDelay } from "./backoff";
import { type AgentDefinition, clientId, versionOf } from "./definitions";
import { createExecPolicy, type ExecPolicyOptions } from "./exec/exec-policy";
import { createLinkExecs } from "./exec/link-execs";
import { startLinkTaskSpan } from "./link-task-span";
import { createPlatformClient, type PlatformClient } from "./platform-client";
import { sleep, toConnectError } from "./service-context";

export interface DialInAgentOptions {
  /** Router (or front door) to dial, host:port. Default 127.0.0.1:50051. */
  routerAddress?: string;
  /** Client id, e.g. "nat-agent". Default: derived from the agent's name. */
  agentId?: string;
  token: string;
  agent: AgentDefinition;
  /** Tasks run at once; the router sends no more. Default 4. */
  maxConcurrentTasks?: number;
  backoff?: BackoffOptions;
  /** Dial with TLS; with a certificate and key, present them (mTLS). Default: h2c. */
  tls?: { ca?: Buffer } | TlsFiles;
  logger?: Logger;
  /**
   * Lets callers run commands here (ExecService.Exec) within this allowlist. Default: exec off,
   * every request PERMISSION_DENIED.
   */
  exec?: ExecPolicyOptions;
  /** Called on every change of link state. */
  onState?(state: DialInState): void;
}

export type DialInState =
  | { kind: "connecting"; attempt: number }
  | { kind: "linked"; linkId: string; routerId: string }
  | { kind: "waiting"; delayMs: number; error: string; code: Code | undefined };

export interface DialInAgent {
  /** True while a link is up. */
  linked(): boolean;
  /** Resolves once a link is up (now, if one is). */
  ready(): Promise<void>;
  /** Links made since start. */
  linksMade(): number;
  /** Closes the link and stops reconnecting; running tasks are cancelled. */
  stop(): Promise<void>;
}

type Outgoing = MessageInitShape<typeof AgentMessageSchema>;

export function runDialInAgent(options: DialInAgentOptions): DialInAgent {
  const agent = options.agent;
  const agentId = options.agentId ?? clientId(agent);
  const routerAddress = options.routerAddress ?? "127.0.0.1:50051";
  const log = options.logger ?? createLogger(`dial-in ${agentId}`);
  const tls = options.tls;
  const transport: Transport = createGrpcTransport({
    baseUrl: `${tls ? "https" : "http"}://${routerAddress}`,
    ...(tls ? { nodeOptions: { ...tls } } : {}),
  });
  const client = createClient(AgentLink, transport);
  const execPolicy = options.exec ? createExecPolicy(options.exec) : undefined;
  // Calls the agent makes go back through the router it dials: it may reach nothing else.
  const platform: PlatformClient = createPlatformClient(transport);
  const stopping = new AbortController();
  let linkUp = false;
  let links = 0;
  let readyWaiters: (() => void)[] = [];

  const setState = (state: DialInState) => {
    linkUp = state.kind === "linked";
    if (linkUp) {
      for (const w of readyWaiters) w();
      readyWaiters = [];
    }
    options.onState?.(state);
  };

  /** One link, from dialing to its end; resolves true when it was accepted first. */
  async function linkOnce(): Promise<{ accepted: boolean; error: ConnectError }> {
    const linkAbort = new AbortController();
    const stopLink = () => linkAbort.abort();
    stopping.signal.addEventListener("abort", stopLink, { once: true });
    const outbound = createAsyncQueue<AgentMessage>();
    const send = (message: Outgoing) => outbound.push(create(AgentMessageSchema, message));
    const tasks = new Map<string, AbortController>();
    const execs = createLinkExecs({
      policy: execPolicy,
      send: (event) => send({ message: { case: "execEvent", value: event } }),
      logger: log,
    });
    let accepted = false;
    let heartbeat: NodeJS.Timeout | undefined;
    let lastHeard = Date.now();

    send({
      message: {
        case: "hello",
        value: {
          agentId,
          name: agent.name,
          description: agent.description,
          capabilities: agent.capabilities,
          version: versionOf(agent),
          maxConcurrentTasks: options.maxConcurrentTasks ?? 4,
          // Exec requests are understood (and refused) even when exec is off.
          linkFeatures: [execLinkFeature],
        },
      },
    });

    const runTask = async (task: LinkTask) => {
      const request = task.request;
      if (!request) return;
      const controller = new AbortController();
      tasks.set(request.taskId, controller);
      const deadlineMs = task.deadlineMs > 0n ? Number(task.deadlineMs) : undefined;
      // The router enforces the deadline too (it sends a cancel); a clock that disagrees with the
      // router's must not kill a task at once, so a deadline already past is left to the router.
      const remainingMs = deadlineMs === undefined ? 0 : deadlineMs - Date.now();
      const timer = remainingMs > 0 ? setTimeout(() => controller.abort(), remainingMs) : undefined;
      const ctx = {
        signal: controller.signal,
        deadlineMs,
        logger: log.child({ task_id: request.taskId }),
        platform,
        requestHeader: new Headers(),
      };
      const reply = (result: TaskResponse) => send({ message: { case: "result", value: result } });
      const span = startLinkTaskSpan(task);
      try {
        await span.run(async () => {
          if (task.streaming) {
            for await (const progress of streamAgentTask(agent, request, ctx)) {
              if (controller.signal.aborted) break;
              reply(progress);
            }
          } else {
            reply(await executeAgentTask(agent, request, ctx));
          }
        });
        span.end(controller.signal.aborted ? Code.Canceled : undefined);
      } catch (err) {
        span.end(controller.signal.aborted ? Code.Canceled : err);
        if (!controller.signal.aborted) {
          const error = toConnectError(err, log, "dial-in task");
          reply(
            create(TaskResponseSchema, {
              taskId: request.taskId,
              success: false,
              error: error.rawMessage,
              metadata: { [linkErrorCodeKey]: String(error.code) },
              done: true,
              progress: 100,
            }),
          );
        }
      } finally {
        clearTimeout(timer);
        tasks.delete(request.taskId);
      }
    };

    try {
      const responses = client.connect(outbound, {
        signal: linkAbort.signal,
        headers: { [agentIdHeader]: agentId, [agentTokenHeader]: options.token },
      });
      for await (const message of responses) {
        lastHeard = Date.now();
        const m = message.message;
        if (m.case === "accepted") {
          accepted = true;
          links++;
          const interval = Math.max(100, m.value.heartbeatIntervalMs || 5000);
          heartbeat = setInterval(() => {
            if (Date.now() - lastHeard > interval * 3) {
              log.warn("router silent: dropping the link", { silent_ms: Date.now() - lastHeard });
              linkAbort.abort();
              return;
            }
            send({ message: { case: "heartbeat", value: { sentAtMs: BigInt(Date.now()) } } });
          }, interval);
          heartbeat.unref();
          log.info("linked", {
            router_id: m.value.routerId,
            link_id: m.value.linkId,
            router: routerAddress,
          });
          setState({ kind: "linked", linkId: m.value.linkId, routerId: m.value.routerId });
        } else if (m.case === "task") {
          void runTask(m.value);
        } else if (m.case === "cancel") {
          if (!execs.cancel(m.value.taskId)) tasks.get(m.value.taskId)?.abort();
        } else if (m.case === "exec") {
          execs.start(m.value);
        } else if (m.case === "execCredit") {
          execs.credit(m.value.execId, m.value.bytes);
        }
      }
      return { accepted, error: new ConnectError("the router ended the link", Code.Unavailable) };
    } catch (err) {
      const error = stopping.signal.aborted
        ? new ConnectError("stopped", Code.Canceled)
        : linkAbort.signal.aborted
          ? new ConnectError("router stopped answering heartbeats", Code.Unavailable)
          : ConnectError.from(err);
      return { accepted, error };
    } finally {
      clearInterval(heartbeat);
      stopping.signal.removeEventListener("abort", stopLink);
      for (const controller of tasks.values()) controller.abort();
      // A command must not outlive the link its caller was on.
      execs.cancelAll();
      outbound.close();
      linkAbort.abort();
    }
  }

  const loop = (async () => {
    let attempt = 0;
    while (!stopping.signal.aborted) {
      setState({ kind: "connecting", attempt });
      const { accepted, error } = await linkOnce();
      if (stopping.signal.aborted) break;
      // A link that was up starts the backoff over; failures to link grow it.
      attempt = accepted ? 0 : attempt + 1;
      const delayMs = fullJitterDelay(attempt, options.backoff);
      const level =
        error.code === Code.Unauthenticated || error.code === Code.PermissionDenied
          ? "error"
          : "warn";
      log[level]("link down; reconnecting", {
        error: error.rawMessage,
        code: Code[error.code],
        delay_ms: delayMs,
      });
      setState({ kind: "waiting", delayMs, error: error.rawMessage, code: error.code });
      await sleep(delayMs, stopping.signal).catch(() => {});
    }
  })();

  return {
    linked: () => linkUp,
    ready: () =>
      linkUp ? Promise.resolve() : new Promise<void>((resolve) => readyWaiters.push(resolve)),
    linksMade: () => links,
    async stop() {
      stopping.abort();
      await loop;
      linkUp = false;
    },
  };
}
