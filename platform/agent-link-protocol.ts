// Conventions both ends of an AgentLink (router and dial-in agent) follow beyond the proto.

/** Metadata (gRPC headers) the agent authenticates with. */
export const agentIdHeader = "agent_id";
export const agentTokenHeader = "agent_token";

/**
 * A failed task's final TaskResponse carries its gRPC status code (a number) under this
 * metadata key, so the router answers the caller with that code rather than success=false.
 */
export const linkErrorCodeKey = "agent-link-error-code";

/** The registry service of a dial-in agent: client id "nat-agent" registers as "agent-nat". */
export function dialInServiceName(agentId: string): string | undefined {
  const match = /^([a-z0-9][a-z0-9-]*)-agent$/.exec(agentId);
  return match ? `agent-${match[1]}` : undefined;
}

/** AgentHello.link_features value of agents that take LinkExec (ExecService.Exec). */
export const execLinkFeature = "exec";
