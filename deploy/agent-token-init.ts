// One-shot container job: makes sure each dial-in agent named on the command line has a token
// in the shared data volume (the routers read the hashed tokens file, each agent its own token).
// Usage: node --import tsx deploy/agent-token-init.ts <data dir> <agent id>...
import { ensureLocalAgentToken } from "../router/agent-link/local-agent-tokens";

const [dataDir, ...agents] = process.argv.slice(2);
if (!dataDir || agents.length === 0) {
  process.stderr.write("usage: agent-token-init.ts <data dir> <agent id>...\n");
  process.exit(2);
}
for (const agentId of agents) {
  const { tokensFile, tokenFile } = ensureLocalAgentToken(agentId, dataDir);
  process.stdout.write(`${agentId}: token in ${tokenFile}, hash in ${tokensFile}\n`);
}
