// The platform methods the Run page can call, read from the generated descriptors.
import type { DescField, DescMethod, DescService } from "@bufbuild/protobuf";
import { AgentService, TaskWorker, ToolService } from "../gen/agentplatform/v1/platform_pb";

export type TargetKind = "agent" | "tool" | "worker";

export interface PlatformMethod {
  /** Full path as Invoke takes it: "/agentplatform.v1.AgentService/ExecuteTask". */
  path: string;
  service: DescService;
  method: DescMethod;
  kind: TargetKind;
  streaming: boolean;
  /** The request field that names the target's client id, when the method has one. */
  targetField: DescField | undefined;
}

const services: Array<[DescService, TargetKind]> = [
  [AgentService, "agent"],
  [ToolService, "tool"],
  [TaskWorker, "worker"],
];

const targetFieldNames = new Set(["agent_id", "tool_id", "worker_id"]);

export const platformMethods: readonly PlatformMethod[] = services.flatMap(([service, kind]) =>
  service.methods
    // Browsers can only make unary and server-streaming calls.
    .filter((m) => m.methodKind === "unary" || m.methodKind === "server_streaming")
    .map((method) => ({
      path: `/${service.typeName}/${method.name}`,
      service,
      method,
      kind,
      streaming: method.methodKind === "server_streaming",
      targetField: method.input.fields.find((f) => targetFieldNames.has(f.name)),
    })),
);

export function findMethod(path: string | null): PlatformMethod | undefined {
  return platformMethods.find((m) => m.path === path);
}

export function methodsForKind(kind: TargetKind): PlatformMethod[] {
  return platformMethods.filter((m) => m.kind === kind);
}

export function parseTargetKind(raw: string | null): TargetKind | undefined {
  return raw === "agent" || raw === "tool" || raw === "worker" ? raw : undefined;
}
