// Runs the sample dial-in agent "nat-agent". It dials AGENT_LINK_ROUTER_ADDRESS (default the
// front door, 127.0.0.1:50051) with its token from AGENT_TOKEN, or from AGENT_TOKEN_FILE
// (default .data/agent-link/nat-agent.token, which the local launcher creates). Commands from its
// small allowlist (nat-exec-policy.ts) run in NAT_AGENT_DATA_DIR (default .data/nat-agent) unless
// NAT_AGENT_EXEC=false.
import { mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { EnvReader } from "../../platform/config";
import { createLogger } from "../../platform/log";
import { runProcess } from "../../platform/process";
import { loadTlsFiles, readTlsConfig } from "../../platform/tls";
import { startTracing } from "../../platform/tracing";
import { defaultAgentTokenFile } from "../../router/agent-link/local-agent-tokens";
import { runDialInAgent } from "../sdk/dial-in-agent";
import { natAgent } from "./nat-agent";
import { natExecPolicy } from "./nat-exec-policy";

const agentId = "nat-agent";
const log = createLogger(agentId);

runProcess(log, async () => {
  const env = new EnvReader();
  const routerAddress = env.string("AGENT_LINK_ROUTER_ADDRESS", "127.0.0.1:50051");
  const tokenFile = env.string("AGENT_TOKEN_FILE", defaultAgentTokenFile(agentId));
  const inlineToken = env.optionalString("AGENT_TOKEN");
  const maxConcurrentTasks = env.int("AGENT_MAX_CONCURRENT_TASKS", 4, { min: 1, max: 256 });
  const backoffInitialMs = env.durationMs("AGENT_LINK_BACKOFF_INITIAL_MS", 500);
  const backoffMaxMs = env.durationMs("AGENT_LINK_BACKOFF_MAX_MS", 30_000);
  const tls = loadTlsFiles(readTlsConfig(env));
  const execEnabled = env.bool("NAT_AGENT_EXEC", true);
  const dataDir = resolve(env.string("NAT_AGENT_DATA_DIR", ".data/nat-agent"));
  env.done(agentId);
  if (execEnabled) mkdirSync(dataDir, { recursive: true });
  let token = inlineToken;
  if (token === undefined) {
    try {
      token = readFileSync(tokenFile, "utf8").trim();
    } catch (err) {
      throw new Error(`AGENT_TOKEN_FILE: cannot read ${tokenFile}: ${(err as Error).message}`);
    }
  }
  const tracing = await startTracing("agent-nat");
  const agent = runDialInAgent({
    routerAddress,
    agentId,
    token,
    agent: natAgent,
    maxConcurrentTasks,
    backoff: { initialMs: backoffInitialMs, maxMs: backoffMaxMs },
    ...(tls ? { tls } : {}),
    ...(execEnabled ? { exec: natExecPolicy(dataDir) } : {}),
    logger: log,
  });
  return {
    async stop() {
      await agent.stop();
      await tracing.stop();
    },
  };
});
