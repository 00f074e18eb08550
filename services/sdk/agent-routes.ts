// agentplatform.v1.AgentService for an agent definition: task ids, sequence numbers, status.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  AgentInfoSchema,
  AgentService,
  ListAgentsResponseSchema,
  ServingState,
  StatusResponseSchema,
  type TaskRequest,
  type TaskResponse,
  TaskResponseSchema,
} from "../../gen/agentplatform/v1/platform_pb";
import { type AgentDefinition, clientId, type TaskProgress, versionOf } from "./definitions";
import { contextFromHandler, type ServiceContext, toConnectError } from "./service-context";
import { counted, type ServiceRuntime } from "./service-runtime";

/** Streams an agent's progress messages with task_id and sequence filled in, ending with done=true. */
export async function* streamAgentTask(
  agent: AgentDefinition,
  request: TaskRequest,
  ctx: ServiceContext,
): AsyncGenerator<TaskResponse> {
  const taskId = request.taskId || randomUUID();
  const task = { ...request, taskId };
  let sequence = 0;
  const message = (p: TaskProgress) =>
    create(TaskResponseSchema, {
      taskId: taskId,
      output: p.output ?? "",
      success: p.success ?? (p.done === true && !p.error),
      error: p.error ?? "",
      metadata: p.metadata ?? {},
      done: p.done ?? false,
      progress: Math.max(0, Math.min(100, Math.round(p.progress ?? (p.done ? 100 : 0)))),
      sequence: sequence++,
    });
  if (!agent.streamTask) {
    const result = await agent.executeTask(task, ctx);
    yield message({ ...result, done: true, progress: 100, success: result.success ?? true });
    return;
  }
  for await (const progress of agent.streamTask(task, ctx)) {
    yield message(progress);
    if (progress.done) return;
  }
  // The handler ended without a final message: close the stream the way callers expect.
  yield message({ done: true, progress: 100, success: true });
}

/** Runs one task on an agent and returns its response with task_id filled in. */
export async function executeAgentTask(
  agent: AgentDefinition,
  request: TaskRequest,
  ctx: ServiceContext,
): Promise<TaskResponse> {
  const taskId = request.taskId || randomUUID();
  const result = await agent.executeTask({ ...request, taskId }, ctx);
  return create(TaskResponseSchema, {
    taskId: taskId,
    output: result.output,
    success: result.success ?? true,
    error: result.error ?? "",
    metadata: result.metadata ?? {},
    done: true,
    progress: 100,
  });
}

export function agentRoutes(agent: AgentDefinition, runtime: ServiceRuntime) {
  const id = clientId(agent);
  const log = runtime.logger;
  return (router: ConnectRouter) => {
    router.service(AgentService, {
      async executeTask(request, handlerCtx) {
        const ctx = contextFromHandler(
          handlerCtx,
          log.child({ task_id: request.taskId }),
          runtime.platform,
        );
        return counted(runtime, () =>
          executeAgentTask(agent, request, ctx).catch((err: unknown) => {
            throw toConnectError(err, log, "ExecuteTask", handlerCtx.signal);
          }),
        );
      },
      async *streamTask(request, handlerCtx) {
        const ctx = contextFromHandler(
          handlerCtx,
          log.child({ task_id: request.taskId }),
          runtime.platform,
        );
        runtime.active.count++;
        try {
          yield* streamAgentTask(agent, request, ctx);
        } catch (err) {
          throw toConnectError(err, log, "StreamTask", handlerCtx.signal);
        } finally {
          runtime.active.count--;
        }
      },
      getStatus(request) {
        if (request.agentId !== "" && request.agentId !== id) {
          throw new ConnectError(`this server is "${id}", not "${request.agentId}"`, Code.NotFound);
        }
        return create(StatusResponseSchema, {
          id,
          state: runtime.draining() ? ServingState.NOT_SERVING : ServingState.SERVING,
          version: versionOf(agent),
          capabilities: agent.capabilities,
          uptimeSeconds: BigInt(Math.floor((Date.now() - runtime.startedAtMs) / 1000)),
          activeTasks: runtime.active.count,
          details: { description: agent.description, endpoint: runtime.endpoint() },
        });
      },
      listAgents(request) {
        const matches =
          request.capability === "" || agent.capabilities.includes(request.capability);
        return create(ListAgentsResponseSchema, {
          agents: matches
            ? [
                create(AgentInfoSchema, {
                  agentId: id,
                  name: agent.name,
                  description: agent.description,
                  capabilities: agent.capabilities,
                  endpoint: runtime.endpoint(),
                  version: versionOf(agent),
                  healthyInstances: runtime.draining() ? 0 : 1,
                }),
              ]
            : [],
        });
      },
    });
  };
}
