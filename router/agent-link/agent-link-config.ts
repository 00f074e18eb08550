// Dial-in agent settings of a router, from the environment.
import { join } from "node:path";
import type { EnvReader } from "../../platform/config";
import type { AgentLinkOptions } from "./linked-agents-hub";
import { defaultTokenFile } from "./local-agent-tokens";

/**
 * AGENT_LINK_TOKENS_FILE (default .data/agent-link/tokens), AGENT_LINK_HEARTBEAT_MS (5s),
 * AGENT_LINK_HEARTBEAT_TIMEOUT_MS (3 heartbeats), AGENT_LINK_MAX_CONCURRENT (8: tasks per link
 * when the agent does not say), AGENT_LINK_REGISTRY_TTL_MS (15s), AGENT_LINK_OFFLINE_GRACE_MS (30s),
 * AGENT_LINK_EXEC_WINDOW_BYTES (256 KiB: exec output an agent sends ahead of the caller reading it),
 * AGENT_LINK_EXEC_AUDIT_FILE (.data/agent-link/exec-audit.jsonl; "off" for the log only).
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
  const execAuditFile = env.string(
    "AGENT_LINK_EXEC_AUDIT_FILE",
    join(dataDir, "agent-link", "exec-audit.jsonl"),
  );
  return {
    tokens: { path: env.string("AGENT_LINK_TOKENS_FILE", defaultTokenFile(dataDir)) },
    heartbeatIntervalMs,
    heartbeatTimeoutMs,
    defaultMaxConcurrentTasks: env.int("AGENT_LINK_MAX_CONCURRENT", 8, { min: 1, max: 256 }),
    registryTtlMs: env.durationMs("AGENT_LINK_REGISTRY_TTL_MS", 15_000),
    offlineGraceMs: env.durationMs("AGENT_LINK_OFFLINE_GRACE_MS", 30_000),
    execOutputWindowBytes: env.int("AGENT_LINK_EXEC_WINDOW_BYTES", 256 * 1024, {
      min: 16 * 1024,
      max: 16 * 1024 * 1024,
    }),
    ...(execAuditFile !== "off" ? { execAudit: { path: execAuditFile } } : {}),
  };
}
