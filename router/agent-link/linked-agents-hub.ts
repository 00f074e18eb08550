// The router's side of AgentLink: authenticates dial-in agents, holds their links, registers
// them in the registry at the router's address, and runs tasks on them for the router.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import type { ExecRequest, ExecResponse } from "../../gen/agentplatform/v1/exec_pb";
import {
  type AgentHello,
  AgentLink,
  type AgentMessage,
  type RouterMessage,
  RouterMessageSchema,
} from "../../gen/agentplatform/v1/link_pb";
import type { TaskRequest, TaskResponse } from "../../gen/agentplatform/v1/platform_pb";
import {
  agentIdHeader,
  agentTokenHeader,
  dialInServiceName,
} from "../../platform/agent-link-protocol";
import type { ConsulClient } from "../../platform/consul/consul-client";
import type { Logger } from "../../platform/log";
import { type AgentTokenStore, createAgentTokenStore } from "./agent-tokens";
import { createExecAuditSink, createExecAuditTracker, type ExecAuditSink } from "./exec-audit";
import { createLinkRegistry, type LinkRegistry } from "./link-registry";
import { createLinkSession, type LinkSession } from "./link-session";
import type { LinkedAgents, LinkedCallContext } from "./linked-agents";

/** The router holding the links (structurally the router's RouterSelf). */
export interface LinkHost {
  readonly routerId: string;
  /** host:port the router is registered at. */
  address(): string;
  consul: ConsulClient;
  logger: Logger;
}

export interface AgentLinkOptions {
  /** Token store, or the token file to read (and watch) for one. */
  tokens: AgentTokenStore | { path: string };
  /** Heartbeats each way, in ms. Default 5000. */
  heartbeatIntervalMs?: number;
  /** Silence after which a link is dead, in ms. Default 3 x heartbeatIntervalMs. */
  heartbeatTimeoutMs?: number;
  /** How long an authenticated agent may take to send its hello, in ms. Default 10000. */
  helloTimeoutMs?: number;
  /** Concurrent tasks per link when the agent's hello does not say. Default 8. */
  defaultMaxConcurrentTasks?: number;
  /** Upper bound on what an agent may ask for. Default 256. */
  maxConcurrentTasksCap?: number;
  /** Register linked agents in the registry. Default true. */
  register?: boolean;
  /** TTL of the registry check the router refreshes, in ms. Default 15000. */
  registryTtlMs?: number;
  /** How long an agent with no link stays registered (critical), in ms. Default 30000. */
  offlineGraceMs?: number;
  /** Exec output an agent may send ahead of the caller reading it, in bytes. Default 262144. */
  execOutputWindowBytes?: number;
  /** Where exec audit records go; a path appends JSON lines there. Default: the log only. */
  execAudit?: ExecAuditSink | { path: string };
}

export interface LinkSummary {
  linkId: string;
  agentId: string;
  service: string;
  connectedAtMs: number;
  inFlight: number;
  maxConcurrentTasks: number;
}

export interface LinkedAgentsHub extends LinkedAgents {
  links(): LinkSummary[];
  /** Resolves when queued registry updates have been made (tests). */
  registrySettled(): Promise<void>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(onTimeout()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function createLinkedAgents(host: LinkHost, options: AgentLinkOptions): LinkedAgentsHub {
  const log = host.logger;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 5000;
  const heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? heartbeatIntervalMs * 3;
  const helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
  const defaultMax = options.defaultMaxConcurrentTasks ?? 8;
  const maxCap = options.maxConcurrentTasksCap ?? 256;
  const ownsTokens = "path" in options.tokens;
  const tokens: AgentTokenStore =
    "path" in options.tokens
      ? createAgentTokenStore({ path: options.tokens.path, logger: log })
      : options.tokens;
  const registry: LinkRegistry | undefined =
    (options.register ?? true)
      ? createLinkRegistry({
          consul: host.consul,
          routerId: () => host.routerId,
          routerAddress: () => host.address(),
          logger: log,
          ...(options.registryTtlMs !== undefined ? { ttlMs: options.registryTtlMs } : {}),
          ...(options.offlineGraceMs !== undefined
            ? { offlineGraceMs: options.offlineGraceMs }
            : {}),
        })
      : undefined;
  const execOutputWindowBytes = options.execOutputWindowBytes ?? 256 * 1024;
  const execAudit: ExecAuditSink =
    options.execAudit === undefined || "path" in options.execAudit
      ? createExecAuditSink({ logger: log, ...(options.execAudit ?? {}) })
      : options.execAudit;
  const ownsExecAudit = options.execAudit === undefined || "path" in options.execAudit;
  const byService = new Map<string, Set<LinkSession>>();
  let closing = false;

  // A revoked or changed token ends the links that used it.
  tokens.onReload(() => {
    for (const set of byService.values()) {
      for (const session of set) {
        void tokens.verify(session.agentId, session.token).then((ok) => {
          if (!ok)
            session.close(
              new ConnectError(`token of ${session.agentId} revoked`, Code.Unauthenticated),
            );
        });
      }
    }
  });

  const linksOf = (service: string) => byService.get(service) ?? new Set<LinkSession>();

  function attach(session: LinkSession) {
    let set = byService.get(session.service);
    if (!set) {
      set = new Set();
      byService.set(session.service, set);
    }
    set.add(session);
    registry?.up(session.service, infoOf(session.agentId, session.hello), set.size);
    log.info("agent linked", {
      agent_id: session.agentId,
      service: session.service,
      link_id: session.linkId,
      links: set.size,
    });
  }

  function detach(session: LinkSession, error: ConnectError) {
    const set = byService.get(session.service);
    if (!set?.delete(session)) return;
    if (set.size === 0) {
      byService.delete(session.service);
      if (!closing) registry?.down(session.service, `link lost: ${error.rawMessage}`);
    } else {
      const next = set.values().next().value;
      if (next) registry?.up(session.service, infoOf(next.agentId, next.hello), set.size);
    }
  }

  const infoOf = (agentId: string, hello: AgentHello) => ({
    agentId,
    name: hello.name || agentId.replace(/-agent$/, ""),
    description: hello.description,
    capabilities: hello.capabilities,
    version: hello.version || "0.0.0",
  });

  /** The link with the most spare room; RESOURCE_EXHAUSTED when every link is full. */
  function pick(service: string): LinkSession {
    let best: LinkSession | undefined;
    for (const s of linksOf(service)) {
      if (s.closed || s.inFlight() >= s.maxConcurrentTasks) continue;
      if (!best || s.maxConcurrentTasks - s.inFlight() > best.maxConcurrentTasks - best.inFlight())
        best = s;
    }
    if (best) return best;
    if (linksOf(service).size === 0) {
      throw new ConnectError(
        `no dial-in agent for "${service}" is linked to this router`,
        Code.Unavailable,
      );
    }
    throw new ConnectError(
      `every link of "${service}" is running its maximum of concurrent tasks`,
      Code.ResourceExhausted,
    );
  }

  async function authenticate(
    ctx: HandlerContext,
  ): Promise<{ agentId: string; token: string; service: string }> {
    const agentId = ctx.requestHeader.get(agentIdHeader) ?? "";
    const token = ctx.requestHeader.get(agentTokenHeader) ?? "";
    if (agentId === "" || token === "") {
      throw new ConnectError(
        `metadata ${agentIdHeader} and ${agentTokenHeader} are required`,
        Code.Unauthenticated,
      );
    }
    if (!(await tokens.verify(agentId, token))) {
      log.warn("dial-in agent refused: bad token", { agent_id: agentId });
      throw new ConnectError(`invalid token for agent "${agentId}"`, Code.Unauthenticated);
    }
    const service = dialInServiceName(agentId);
    if (!service) {
      throw new ConnectError(
        `agent_id "${agentId}" must be a client id ending in "-agent", e.g. "nat-agent"`,
        Code.InvalidArgument,
      );
    }
    return { agentId, token, service };
  }

  async function* connect(
    requests: AsyncIterable<AgentMessage>,
    ctx: HandlerContext,
  ): AsyncGenerator<RouterMessage> {
    if (closing) throw new ConnectError("router is shutting down", Code.Unavailable);
    const { agentId, token, service } = await authenticate(ctx);

    const incoming = requests[Symbol.asyncIterator]();
    const first = await withTimeout(
      incoming.next(),
      helloTimeoutMs,
      () => new ConnectError(`no hello within ${helloTimeoutMs} ms`, Code.DeadlineExceeded),
    );
    if (first.done || first.value.message.case !== "hello") {
      throw new ConnectError("the first message on a link must be hello", Code.InvalidArgument);
    }
    const hello = first.value.message.value;
    if (hello.agentId !== "" && hello.agentId !== agentId) {
      throw new ConnectError(
        `hello names agent "${hello.agentId}" but the token is for "${agentId}"`,
        Code.PermissionDenied,
      );
    }
    if (closing) throw new ConnectError("router is shutting down", Code.Unavailable);

    const session = createLinkSession({
      agentId,
      service,
      hello,
      token,
      maxConcurrentTasks: Math.min(maxCap, hello.maxConcurrentTasks || defaultMax),
      heartbeatIntervalMs,
      heartbeatTimeoutMs,
      execOutputWindowBytes,
      logger: log,
      onClose: detach,
    });
    attach(session);

    // The call ending (agent gone, connection lost) ends the link.
    const onCallEnd = () =>
      session.close(new ConnectError("the agent's stream ended", Code.Unavailable));
    ctx.signal.addEventListener("abort", onCallEnd, { once: true });
    void (async () => {
      try {
        for (;;) {
          const next = await incoming.next();
          if (next.done) break;
          session.receive(next.value);
        }
        session.close(new ConnectError("the agent closed the link", Code.Unavailable));
      } catch (err) {
        session.close(
          new ConnectError(
            `link read failed: ${ConnectError.from(err).rawMessage}`,
            Code.Unavailable,
          ),
        );
      }
    })();

    try {
      yield create(RouterMessageSchema, {
        message: {
          case: "accepted",
          value: { linkId: session.linkId, routerId: host.routerId, heartbeatIntervalMs },
        },
      });
      for await (const message of session.outbound) yield message;
    } finally {
      ctx.signal.removeEventListener("abort", onCallEnd);
      session.close(new ConnectError("link stream finished", Code.Unavailable));
    }
  }

  // A generator, so the link is picked when the caller starts reading, not when it asks.
  async function* runOn(
    service: string,
    request: TaskRequest,
    streaming: boolean,
    ctx: LinkedCallContext,
  ): AsyncGenerator<TaskResponse> {
    yield* pick(service).run(request, streaming, ctx);
  }

  async function* exec(
    service: string,
    request: ExecRequest,
    ctx: LinkedCallContext,
  ): AsyncGenerator<ExecResponse> {
    if (request.execId === "") request = { ...request, execId: randomUUID() };
    const audit = createExecAuditTracker(request, ctx.subject ?? "anonymous");
    let session: LinkSession | undefined;
    let error: unknown;
    try {
      session = pick(service);
      for await (const response of session.exec(request, ctx)) {
        audit.seen(response);
        yield response;
      }
    } catch (err) {
      error = ctx.signal.aborted ? (ctx.signal.reason ?? err) : err;
      throw err;
    } finally {
      // A caller that stops reading ends the generator without an error: it went away.
      const ended = error ?? (ctx.signal.aborted ? ctx.signal.reason : undefined);
      execAudit.record(audit.finish(session?.agentId ?? service, session?.linkId ?? "", ended));
    }
  }

  return {
    exec,
    routes(router: ConnectRouter) {
      router.service(AgentLink, { connect });
    },
    hasLocal: (service) => linksOf(service).size > 0,
    async executeTask(service, request, ctx) {
      let last: TaskResponse | undefined;
      for await (const response of runOn(service, request, false, ctx)) last = response;
      if (!last) throw new ConnectError("the agent ended the task without a result", Code.Internal);
      return last;
    },
    streamTask: (service, request, ctx) => runOn(service, request, true, ctx),
    linkCount: () => [...byService.values()].reduce((n, set) => n + set.size, 0),
    links: () =>
      [...byService.values()].flatMap((set) =>
        [...set].map((s) => ({
          linkId: s.linkId,
          agentId: s.agentId,
          service: s.service,
          connectedAtMs: s.connectedAtMs,
          inFlight: s.inFlight(),
          maxConcurrentTasks: s.maxConcurrentTasks,
        })),
      ),
    registrySettled: async () => registry?.settled(),
    async close() {
      closing = true;
      for (const set of [...byService.values()]) {
        for (const session of [...set]) {
          session.close(
            new ConnectError("router is shutting down; link elsewhere", Code.Unavailable),
          );
        }
      }
      await registry?.close();
      if (ownsTokens) tokens.close();
      if (ownsExecAudit) await execAudit.close();
    },
  };
}

/** For startRouter({ linkedAgents }): builds the hub once the router knows who it is. */
export const linkedAgentsFactory =
  (options: AgentLinkOptions) =>
  (host: LinkHost): LinkedAgentsHub =>
    createLinkedAgents(host, options);
