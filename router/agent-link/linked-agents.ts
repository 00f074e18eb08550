// The contract between a router and the dial-in agents linked to it over AgentLink.
//
// A dial-in agent has no address of its own: the router holding its link registers it in the
// registry as `agent-<name>` at the router's own address (Meta dial_in=true, router_id). Any
// router resolving that service therefore forwards to the holding router, which sees the agent
// is linked locally and hands the call to it instead of forwarding again.
import type { ConnectRouter } from "@connectrpc/connect";
import type { ExecRequest, ExecResponse } from "../../gen/agentplatform/v1/exec_pb";
import type { TaskRequest, TaskResponse } from "../../gen/agentplatform/v1/platform_pb";

export interface LinkedCallContext {
  /** Aborted when the caller cancels or its deadline passes. */
  signal: AbortSignal;
  /** Absolute deadline in ms since the epoch, or undefined for none. */
  deadlineMs: number | undefined;
  /** Who is calling (the token's subject), for the exec audit. Default "anonymous". */
  subject?: string;
  /** W3C trace context ("traceparent", "tracestate") the agent's span continues. Default none. */
  traceContext?: Record<string, string> | undefined;
}

export interface LinkedAgents {
  /** Mounts agentplatform.v1.AgentLink on the router's server. */
  routes(router: ConnectRouter): void;
  /** True when an agent registered as this service (e.g. "agent-nat") is linked to this router. */
  hasLocal(service: string): boolean;
  /** Runs a task on a linked agent; UNAVAILABLE if the link drops first. */
  executeTask(service: string, request: TaskRequest, ctx: LinkedCallContext): Promise<TaskResponse>;
  /** Streams a task's progress from a linked agent; the last message has done=true. */
  streamTask(
    service: string,
    request: TaskRequest,
    ctx: LinkedCallContext,
  ): AsyncIterable<TaskResponse>;
  /**
   * Runs a command on a linked agent (ExecService.Exec) and streams its output; the last
   * message is the result. UNAVAILABLE if the link drops first. Every exec is audited.
   */
  exec(service: string, request: ExecRequest, ctx: LinkedCallContext): AsyncIterable<ExecResponse>;
  /** Links held now. */
  linkCount(): number;
  /** Closes every link (agents reconnect elsewhere) and deregisters them. */
  close(): Promise<void>;
}
