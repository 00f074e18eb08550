// Tokens for the dial-in agents `npm start` runs: created once under .data/agent-link/ and
// reused, so the routers (which read the hashed tokens file) and the agents (which read their
// own token file) agree without any manual step.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  formatTokenLine,
  generateAgentToken,
  hashAgentToken,
  parseTokenFile,
} from "./agent-tokens";

export const defaultTokenFile = (dataDir = ".data") => join(dataDir, "agent-link", "tokens");
export const defaultAgentTokenFile = (agentId: string, dataDir = ".data") =>
  join(dataDir, "agent-link", `${agentId}.token`);

export interface LocalAgentToken {
  agentId: string;
  token: string;
  /** The hashed tokens file routers read (AGENT_LINK_TOKENS_FILE). */
  tokensFile: string;
  /** The agent's plain token (AGENT_TOKEN_FILE), readable by its owner only. */
  tokenFile: string;
}

/**
 * Returns the agent's local token, creating it (and its hashed line in the tokens file) when
 * either is missing. Safe to call at every start.
 */
export function ensureLocalAgentToken(agentId: string, dataDir = ".data"): LocalAgentToken {
  const tokensFile = defaultTokenFile(dataDir);
  const tokenFile = defaultAgentTokenFile(agentId, dataDir);
  mkdirSync(dirname(tokensFile), { recursive: true, mode: 0o700 });
  const existing = existsSync(tokensFile) ? readFileSync(tokensFile, "utf8") : "";
  const listed = parseTokenFile(existing).hashes.has(agentId);
  if (listed && existsSync(tokenFile)) {
    return { agentId, token: readFileSync(tokenFile, "utf8").trim(), tokensFile, tokenFile };
  }
  const token = generateAgentToken();
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  // Drop a stale line for this agent, then add the new hash.
  const kept = existing
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "" && line.trim().split(/\s+/)[0] !== agentId)
    .map((line) => `${line}\n`)
    .join("");
  const header =
    kept === "" ? "# Dial-in agent tokens (salted hashes). Remove a line to revoke.\n" : "";
  writeFileSync(tokensFile, header + kept + formatTokenLine(agentId, hashAgentToken(token)), {
    mode: 0o600,
  });
  return { agentId, token, tokensFile, tokenFile };
}
