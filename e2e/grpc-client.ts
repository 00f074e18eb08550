// A plain gRPC client of the stack's front door, as any program outside the console would be.
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { TaskState, TaskWorker } from "../gen/agentplatform/v1/platform_pb";

/** Starts an itinerary job through the front door and returns its id. */
export async function startJobOverGrpc(
  frontDoor: string,
  input: string,
  parameters: Record<string, string> = {},
): Promise<string> {
  const response = await taskWorker(frontDoor).processTask(
    { agentId: "itinerary-worker", input, parameters },
    { timeoutMs: 15_000 },
  );
  if (!response.success || response.taskId === "") {
    throw new Error(`the worker refused the job: ${response.error}`);
  }
  return response.taskId;
}

/** Cancels a job through the front door and returns the state the worker reports. */
export async function cancelJobOverGrpc(frontDoor: string, taskId: string): Promise<string> {
  const response = await taskWorker(frontDoor).cancelTask(
    { taskId, workerId: "itinerary-worker", reason: "cancelled by the test" },
    { timeoutMs: 15_000 },
  );
  return TaskState[response.state];
}

function taskWorker(frontDoor: string) {
  return createClient(
    TaskWorker,
    createGrpcTransport({ baseUrl: `http://${frontDoor.replace(/^https?:\/\//, "")}` }),
  );
}
