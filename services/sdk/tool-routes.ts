// agentplatform.v1.ToolService for a tool definition: operation check, JSON in and out.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  ListToolsResponseSchema,
  ToolInfoSchema,
  ToolResponseSchema,
  ToolService,
} from "../../gen/agentplatform/v1/platform_pb";
import { clientId, type ToolDefinition, versionOf } from "./definitions";
import { contextFromHandler, toConnectError } from "./service-context";
import { counted, type ServiceRuntime } from "./service-runtime";

function parseInput(json: string): unknown {
  if (json.trim() === "") return undefined;
  try {
    return JSON.parse(json);
  } catch (err) {
    throw new ConnectError(
      `input_json is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
      Code.InvalidArgument,
    );
  }
}

export function toolRoutes(tool: ToolDefinition, runtime: ServiceRuntime) {
  const id = clientId(tool);
  const log = runtime.logger;
  return (router: ConnectRouter) => {
    router.service(ToolService, {
      async executeTool(request, handlerCtx) {
        const requestId = request.requestId || randomUUID();
        if (!tool.operations.includes(request.operation)) {
          throw new ConnectError(
            `unknown operation "${request.operation}" for ${id}; expected one of: ${tool.operations.join(", ")}`,
            Code.InvalidArgument,
          );
        }
        const call = {
          requestId,
          operation: request.operation,
          parameters: { ...request.parameters },
          input: parseInput(request.inputJson),
        };
        const ctx = contextFromHandler(
          handlerCtx,
          log.child({ request_id: requestId }),
          runtime.platform,
        );
        return counted(runtime, async () => {
          try {
            const out = await tool.executeTool(call, ctx);
            return create(ToolResponseSchema, {
              requestId,
              success: true,
              outputJson: JSON.stringify(out.result),
              metadata: out.metadata ?? {},
            });
          } catch (err) {
            throw toConnectError(err, log, `ExecuteTool ${request.operation}`, handlerCtx.signal);
          }
        });
      },
      listTools() {
        return create(ListToolsResponseSchema, {
          tools: [
            create(ToolInfoSchema, {
              toolId: id,
              name: tool.name,
              description: tool.description,
              operations: tool.operations,
              endpoint: runtime.endpoint(),
              version: versionOf(tool),
              healthyInstances: runtime.draining() ? 0 : 1,
            }),
          ],
        });
      },
    });
  };
}
