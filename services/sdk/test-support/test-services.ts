// Shared pieces of the services' integration tests: an embedded registry, clients, polling.
import { ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AgentService, TaskWorker, ToolService } from "../../../gen/agentplatform/v1/platform_pb";
import { type ConsulClient, createConsulClient } from "../../../platform/consul/consul-client";
import { createLogger } from "../../../platform/log";
import {
  type EmbeddedRegistry,
  startEmbeddedRegistry,
} from "../../../registry/embedded/embedded-registry";

export const quietLogger = createLogger("test", {
  level: process.env.TEST_LOG_LEVEL === "debug" ? "debug" : "error",
});

export async function startTestRegistry(): Promise<{
  registry: EmbeddedRegistry;
  consul: ConsulClient;
}> {
  const registry = await startEmbeddedRegistry({ logger: quietLogger });
  return { registry, consul: createConsulClient({ address: registry.address }) };
}

export function clientsFor(address: string) {
  const transport = createGrpcTransport({ baseUrl: `http://${address}` });
  return {
    transport,
    agents: createClient(AgentService, transport),
    tools: createClient(ToolService, transport),
    workers: createClient(TaskWorker, transport),
  };
}

/** The code of a rejected call, or "resolved" when it did not fail. */
export async function codeOf(call: Promise<unknown>): Promise<number | "resolved"> {
  try {
    await call;
    return "resolved";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}
