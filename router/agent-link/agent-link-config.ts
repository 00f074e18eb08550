// Dial-in agent settings of a router, from the environment.
import type { EnvReader } from "../../platform/config";
import type { AgentLinkOptions } from "./linked-agents-hub";
import { defaultTokenFile } from "./local-agent-tokens";

/**
 * AGENT_LINK_TOKENS_FILE (default .data/agent-link/tokens), AGENT_LINK_HEARTBEAT_MS (5s),
 * AGENT_LINK_HEARTBEAT_TIMEOUT_MS (3 heartbeats), AGENT_LINK_MAX_CONCURRENT (8: tasks per link
 * when the agent does not say), AGENT_LINK_REGISTRY_TTL_MS (15s), AGENT_LINK_OFFLINE_GRACE_MS (30s).
 */
export function readAgentLinkConfig(env: EnvReader, dataDir = ".data"): AgentLinkOptions {
  const heartbeatIntervalMs = env.durationMs("AGENT_LINK_HEARTBEAT_MS", 5000);
  const heartbeatTimeoutMs = env.durationMs(
    "AGENT_LINK_HEARTBEAT_TIMEOUT_MS",
    heartbeatIntervalMs * 3,
  );
  if (heartbeatTimeoutMs <= heartbeatIntervalMs) {
    env.invalid("AGENT_LINK_HEARTBEAT_TIMEOUT_MS must be longer than AGENT_LINK_HEARTBEAT_MS");
  }
  return {
    tokens: { path: env.string("AGENT_LINK_TOKENS_FILE", defaultTokenFile(dataDir)) },
    heartbeatIntervalMs,
    heartbeatTimeoutMs,
    defaultMaxConcurrentTasks: env.int("AGENT_LINK_MAX_CONCURRENT", 8, { min: 1, max: 256 }),
    registryTtlMs: env.durationMs("AGENT_LINK_REGISTRY_TTL_MS", 15_000),
    offlineGraceMs: env.durationMs("AGENT_LINK_OFFLINE_GRACE_MS", 30_000),
  };
}
