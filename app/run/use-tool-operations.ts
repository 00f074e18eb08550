"use client";
// The operations a tool advertises (ToolService.ListTools), so the Run form offers them as choices.
import { useQuery } from "@connectrpc/connect-query";
import { ToolService } from "../../gen/agentplatform/v1/platform_pb";

const none: readonly string[] = [];

export function useToolOperations(toolId: string): readonly string[] {
  const tools = useQuery(
    ToolService.method.listTools,
    {},
    { enabled: toolId !== "", staleTime: 30_000, retry: false },
  );
  return tools.data?.tools.find((t) => t.toolId === toolId)?.operations ?? none;
}
