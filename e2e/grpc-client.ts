// A plain gRPC client of the stack's front door, as any program outside the console would be.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { TaskWorker } from "../gen/agentplatform/v1/platform_pb";

/** Starts an itinerary job through the front door and returns its id. */
export async function startJobOverGrpc(
  frontDoor: string,
  input: string,
  parameters: Record<string, string> = {},
): Promise<string> {
  const client = createClient(
    TaskWorker,
    createGrpcTransport({ baseUrl: `http://${frontDoor.replace(/^https?:\/\//, "")}` }),
  );
  const response = await client.processTask(
    { agentId: "itinerary-worker", input, parameters },
    { timeoutMs: 15_000 },
  );
  if (!response.success || response.taskId === "") {
    throw new Error(`the worker refused the job: ${response.error}`);
  }
  return response.taskId;
}
