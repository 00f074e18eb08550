// The services SDK: define an agent, tool or worker, then run it.
export { executeAgentTask, streamAgentTask } from "./agent-routes";
export {
  type AgentDefinition,
  clientId,
  defineAgent,
  defineTool,
  defineWorker,
  type JobInput,
  registryName,
  type ServiceDefinition,
  type TaskProgress,
  type TaskResult,
  type ToolCall,
  type ToolDefinition,
  type ToolOutput,
  type WorkerDefinition,
} from "./definitions";
export { createPlatformClient, type PlatformClient } from "./platform-client";
export { runService } from "./run-service";
export { readServiceConfig, type ServiceConfig } from "./service-config";
export { type ServiceContext, sleep } from "./service-context";
export { type RunningService, type StartServiceOptions, startService } from "./start-service";
export type { JobContext } from "./worker/job-context";
