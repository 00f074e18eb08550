// Small agent/worker backends for router and front-door tests: real gRPC servers on port 0,
// registered in a registry with a gRPC health check, that count calls and notice aborts.
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  AgentService,
  TaskResponseSchema,
  TaskState,
  TaskStatusResponseSchema,
  TaskWorker,
} from "../../gen/agentplatform/v1/platform_pb";
import type { ConsulClient } from "../../platform/consul/consul-client";
import { type GrpcServer, startGrpcServer } from "../../platform/grpc-server";
import { createHealthStatusTable } from "../../platform/health";
import { createLogger } from "../../platform/log";
import { type Registration, registerInstance } from "../../platform/registration";

export interface EchoBackend {
  readonly server: GrpcServer;
  readonly address: string;
  /** Calls that reached a handler. */
  calls: number;
  /** HTTP/2 streams opened to it, health checks aside: counts calls that never reach a handler too. */
  streams: number;
  /** The authorization header of the last ExecuteTask, as it arrived. */
  lastAuthorization: string | undefined;
  /** Handlers whose signal fired before they finished on their own. */
  aborts: number;
  /** Resolves the next time a handler sees its call aborted. */
  nextAbort(): Promise<void>;
  /** Stops serving: gracefully (GOAWAY, in-flight finish) or hard (connections dropped). Stays registered. */
  stop(mode: "graceful" | "hard"): Promise<void>;
  deregister(): Promise<void>;
}

export interface EchoBackendOptions {
  consul: ConsulClient;
  /** Registry service name. Default "agent-echo". */
  service?: string;
  tags?: string[];
  meta?: Record<string, string>;
  /** Delay between streamed messages. Default 20 ms. */
  streamIntervalMs?: number;
  /** Time ExecuteTask takes. Default 0. */
  executeDelayMs?: number;
  /**
   * ExecuteTask calls served one at a time, each taking this long: a backend of fixed capacity
   * (1000 / serialMs calls per second), whose latency grows with its queue. Default 0 (off).
   */
  serialMs?: number;
}

const quiet = createLogger("test-backend", { level: "error" });

/**
 * ExecuteTask answers "Echo: <input>", or never answers when input is "hang"; StreamTask sends
 * parameters.count messages (default 5); GetTaskStatus reports RUNNING. Every answer names the
 * backend in metadata.backend.
 */
export async function startEchoBackend(options: EchoBackendOptions): Promise<EchoBackend> {
  const service = options.service ?? "agent-echo";
  const interval = options.streamIntervalMs ?? 20;
  const health = createHealthStatusTable();
  let abortWaiters: (() => void)[] = [];
  let address = "";
  let serial: Promise<void> = Promise.resolve();
  const backend = {
    calls: 0,
    streams: 0,
    lastAuthorization: undefined as string | undefined,
    aborts: 0,
  };
  const sawAbort = () => {
    backend.aborts++;
    const waiters = abortWaiters;
    abortWaiters = [];
    for (const w of waiters) w();
  };
  const waitAbort = (signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });

  const routes = (router: ConnectRouter) => {
    health.routes(router);
    router.service(AgentService, {
      async executeTask(req, ctx) {
        backend.calls++;
        backend.lastAuthorization = ctx.requestHeader.get("authorization") ?? undefined;
        if (req.input === "hang") {
          await waitAbort(ctx.signal);
          sawAbort();
          throw ctx.signal.reason;
        }
        if (options.executeDelayMs) {
          await new Promise((r) => setTimeout(r, options.executeDelayMs));
        }
        if (options.serialMs) {
          const turn = serial.then(() => new Promise<void>((r) => setTimeout(r, options.serialMs)));
          serial = turn;
          await turn;
        }
        return create(TaskResponseSchema, {
          taskId: req.taskId,
          output: `Echo: ${req.input}`,
          success: true,
          metadata: { backend: address },
        });
      },
      async *streamTask(req, ctx) {
        backend.calls++;
        const count = Number(req.parameters.count ?? "5");
        for (let i = 0; i < count; i++) {
          if (ctx.signal.aborted) break;
          yield create(TaskResponseSchema, {
            taskId: req.taskId,
            output: `step ${i}`,
            sequence: i,
            done: i === count - 1,
            metadata: { backend: address },
          });
          await Promise.race([new Promise((r) => setTimeout(r, interval)), waitAbort(ctx.signal)]);
        }
        if (ctx.signal.aborted) sawAbort();
      },
    });
    router.service(TaskWorker, {
      getTaskStatus(req) {
        backend.calls++;
        return create(TaskStatusResponseSchema, {
          taskId: req.taskId,
          state: TaskState.RUNNING,
          metadata: { backend: address },
        });
      },
    });
  };

  const server = await startGrpcServer({
    routes,
    // Counts every stream and leaves it to the routes.
    streamHandler: (_stream, headers) => {
      if (!headers[":path"]?.startsWith("/grpc.health.v1.")) backend.streams++;
      return false;
    },
    logger: quiet,
  });
  address = server.address;
  let registration: Registration | undefined = await registerInstance(
    options.consul,
    {
      name: service,
      id: `${service}-${server.port}`,
      tags: options.tags ?? [service.split("-")[0] ?? "agent"],
      meta: { name: service, description: `test ${service}`, version: "1.0.0", ...options.meta },
      address: server.host,
      port: server.port,
      checkIntervalMs: 1000,
    },
    quiet,
  );

  return Object.assign(backend, {
    server,
    address,
    nextAbort: () => new Promise<void>((resolve) => abortWaiters.push(resolve)),
    async stop(mode: "graceful" | "hard") {
      await server.close(mode === "hard" ? 0 : 5000);
    },
    async deregister() {
      await registration?.deregister();
      registration = undefined;
    },
  });
}
