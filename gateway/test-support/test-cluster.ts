// A small real platform for the gateway's tests: embedded registry, one router, one agent with
// a controllable streaming task, and a gateway, all on 127.0.0.1 port 0.
import type { ConnectRouter } from "@connectrpc/connect";
import { AgentService } from "../../gen/agentplatform/v1/platform_pb";
import { type ConsulClient, createConsulClient } from "../../platform/consul/consul-client";
import { type GrpcServer, startGrpcServer } from "../../platform/grpc-server";
import { createHealthStatusTable, type HealthStatusTable } from "../../platform/health";
import { createLogger } from "../../platform/log";
import { type Registration, registerInstance } from "../../platform/registration";
import {
  type EmbeddedRegistry,
  startEmbeddedRegistry,
} from "../../registry/embedded/embedded-registry";
import { type Router, startRouter } from "../../router/router";
import { type Gateway, type GatewayOptions, startGateway } from "../gateway";

export const quietLogger = createLogger("test", { level: "error" });

/** What the test agent saw of its streaming calls. */
export interface AgentLog {
  streamsStarted: number;
  streamsCancelled: number;
  streamsFinished: number;
}

export interface TestAgent {
  server: GrpcServer;
  health: HealthStatusTable;
  registration: Registration;
  log: AgentLog;
  close(): Promise<void>;
}

/**
 * "agent-echo": ExecuteTask echoes its input; StreamTask sends parameters.count messages (default
 * 3) parameters.delay_ms apart (default 50), the last with done=true.
 */
export async function startTestAgent(consul: ConsulClient, name = "echo"): Promise<TestAgent> {
  const health = createHealthStatusTable([AgentService.typeName]);
  const log: AgentLog = { streamsStarted: 0, streamsCancelled: 0, streamsFinished: 0 };
  const routes = (router: ConnectRouter) => {
    health.routes(router);
    router.service(AgentService, {
      executeTask: (req) => ({ taskId: req.taskId, output: `echo: ${req.input}`, success: true }),
      async *streamTask(req, ctx) {
        log.streamsStarted++;
        const count = Number(req.parameters.count ?? "3");
        const delayMs = Number(req.parameters.delay_ms ?? "50");
        for (let i = 0; i < count; i++) {
          if (i > 0) {
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, delayMs);
              ctx.signal.addEventListener("abort", () => {
                clearTimeout(t);
                resolve();
              });
            });
          }
          if (ctx.signal.aborted) {
            log.streamsCancelled++;
            return;
          }
          yield {
            taskId: req.taskId,
            output: `step ${i}`,
            success: true,
            sequence: i,
            done: i === count - 1,
          };
        }
        log.streamsFinished++;
      },
    });
  };
  const server = await startGrpcServer({ routes, logger: quietLogger });
  const registration = await registerInstance(
    consul,
    {
      name: `agent-${name}`,
      id: `agent-${name}-${server.port}`,
      tags: ["agent"],
      meta: {
        name,
        description: `${name} test agent`,
        capabilities: "echo,stream",
        version: "1.2.3",
      },
      address: "127.0.0.1",
      port: server.port,
      checkIntervalMs: 1000,
    },
    quietLogger,
  );
  return {
    server,
    health,
    registration,
    log,
    async close() {
      await registration.deregister();
      await server.close(100);
    },
  };
}

export interface TestCluster {
  registry: EmbeddedRegistry;
  consul: ConsulClient;
  router: Router;
  agent: TestAgent;
  gateway: Gateway;
  /** http://host:port of the browser endpoint. */
  baseUrl: string;
  close(): Promise<void>;
}

export async function startTestCluster(
  gatewayOptions: Partial<GatewayOptions> = {},
): Promise<TestCluster> {
  const registry = await startEmbeddedRegistry({ logger: quietLogger });
  const consul = createConsulClient({ address: registry.address });
  const agent = await startTestAgent(consul);
  const router = await startRouter({
    consul,
    routerId: "router-test",
    checkIntervalMs: 1000,
    logger: quietLogger,
  });
  const gateway = await startGateway({
    consul,
    registryWait: "5s",
    metricsIntervalMs: 250,
    logger: quietLogger,
    ...gatewayOptions,
  });
  return {
    registry,
    consul,
    router,
    agent,
    gateway,
    baseUrl: `http://${gateway.http.address}`,
    async close() {
      await gateway.close(100);
      await router.close(100);
      await agent.close();
      await registry.close();
    },
  };
}
