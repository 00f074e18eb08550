// What a developer writes to make an agent, a tool or a worker: a name, a description and handlers.
import type { TaskRequest } from "../../gen/agentplatform/v1/platform_pb";
import type { ServiceContext } from "./service-context";
import type { JobContext } from "./worker/job-context";

export type ServiceKind = "agent" | "tool" | "worker";

interface CommonDefinition {
  /** Short name: "echo" serves client id "echo-agent" and registers as "agent-echo". */
  name: string;
  description: string;
  /** Semantic version shown in the registry and the console. Default "0.1.0". */
  version?: string;
}

/** What an agent returns for one task; task_id is filled in by the SDK. */
export interface TaskResult {
  output: string;
  /** Default true. A task that ran but did not achieve its goal returns false with an error. */
  success?: boolean;
  error?: string;
  metadata?: Record<string, string>;
}

/** One message of a streamed task; the SDK numbers them and fills task_id. */
export interface TaskProgress {
  output?: string;
  /** From 0 to 100. */
  progress?: number;
  /** The last message: carries the full result. */
  done?: boolean;
  success?: boolean;
  error?: string;
  metadata?: Record<string, string>;
}

export interface AgentDefinition extends CommonDefinition {
  kind: "agent";
  capabilities: string[];
  executeTask(request: TaskRequest, ctx: ServiceContext): Promise<TaskResult> | TaskResult;
  /**
   * Streams progress, ending with a message that has done=true. Without it, StreamTask runs
   * executeTask and sends its result as the only message.
   */
  streamTask?(request: TaskRequest, ctx: ServiceContext): AsyncIterable<TaskProgress>;
}

/** One call of a tool operation, with input_json already parsed. */
export interface ToolCall {
  requestId: string;
  operation: string;
  parameters: Record<string, string>;
  /** input_json parsed, or undefined when it was empty. */
  input: unknown;
}

export interface ToolDefinition extends CommonDefinition {
  kind: "tool";
  /** Operation names; calls naming any other operation fail with INVALID_ARGUMENT. */
  operations: string[];
  /** Returns the result as a JSON-serialisable value; it is sent as output_json. */
  executeTool(call: ToolCall, ctx: ServiceContext): Promise<ToolOutput> | ToolOutput;
}

export interface ToolOutput {
  result: unknown;
  metadata?: Record<string, string>;
}

/** The parsed form of a job, as stored with the task and handed to every (re)run. */
export type JobInput = Record<string, unknown>;

export interface WorkerDefinition<I extends JobInput = JobInput> extends CommonDefinition {
  kind: "worker";
  capabilities: string[];
  /**
   * Validates a ProcessTask request and turns it into the job's input; throw a ConnectError
   * with INVALID_ARGUMENT to refuse it. Runs before the task is accepted.
   */
  accept(request: TaskRequest): I;
  /**
   * Runs the job and returns its output. Work wrapped in ctx.step() is recorded, so a job
   * resumed after a restart skips the steps it had finished.
   */
  run(input: I, ctx: JobContext): Promise<string>;
  /** Runs allowed before a job that keeps being interrupted is marked failed. Default 3. */
  maxAttempts?: number;
}

export type ServiceDefinition = AgentDefinition | ToolDefinition | WorkerDefinition;

export function defineAgent(definition: Omit<AgentDefinition, "kind">): AgentDefinition {
  return { kind: "agent", ...checkName(definition) };
}

export function defineTool(definition: Omit<ToolDefinition, "kind">): ToolDefinition {
  if (definition.operations.length === 0) {
    throw new Error(`tool "${definition.name}" must declare at least one operation`);
  }
  return { kind: "tool", ...checkName(definition) };
}

export function defineWorker<I extends JobInput>(
  definition: Omit<WorkerDefinition<I>, "kind">,
): WorkerDefinition<I> {
  return { kind: "worker", ...checkName(definition) };
}

function checkName<T extends CommonDefinition>(definition: T): T {
  if (!/^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/.test(definition.name)) {
    throw new Error(
      `service name "${definition.name}" must be lowercase letters, digits and inner dashes`,
    );
  }
  return definition;
}

/** The registry name: "agent-echo". */
export const registryName = (def: { kind: ServiceKind; name: string }) => `${def.kind}-${def.name}`;

/** The id callers use: "echo-agent". */
export const clientId = (def: { kind: ServiceKind; name: string }) => `${def.name}-${def.kind}`;

export const versionOf = (def: CommonDefinition) => def.version ?? "0.1.0";
