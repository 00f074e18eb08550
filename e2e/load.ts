// A bounded burst of real gRPC calls to the front door, so charts have traffic to show.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AgentService } from "../gen/agentplatform/v1/platform_pb";

export interface LoadOptions {
  /** host:port of the gRPC front door. */
  frontDoor: string;
  /** Stops after this many calls. */
  calls: number;
  /** Stops after this long, whatever the count. */
  maxMs: number;
  concurrency?: number;
}

export async function generateLoad(options: LoadOptions): Promise<{ ok: number; failed: number }> {
  const transport = createGrpcTransport({ baseUrl: `http://${options.frontDoor}` });
  const client = createClient(AgentService, transport);
  const deadline = Date.now() + options.maxMs;
  let issued = 0;
  let ok = 0;
  let failed = 0;
  const worker = async () => {
    while (issued < options.calls && Date.now() < deadline) {
      issued++;
      try {
        await client.executeTask(
          { agentId: "echo-agent", input: `load ${issued}` },
          { timeoutMs: 5000 },
        );
        ok++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return { ok, failed };
}
