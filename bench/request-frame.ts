// The request body h2load sends: one gRPC length-prefixed TaskRequest, built from the schema.
import { writeFileSync } from "node:fs";
import { create, toBinary } from "@bufbuild/protobuf";
import { TaskRequestSchema } from "../gen/agentplatform/v1/platform_pb";

export const executeTaskPath = "/agentplatform.v1.AgentService/ExecuteTask";

/** The input every benchmark request carries; the echo agent answers "Echo: " + it. */
export const requestInput = "hello from h2load";

/** Headers every gRPC request needs besides the method and path. */
export const grpcRequestHeaders = ["content-type: application/grpc", "te: trailers"];

/** Writes a gRPC frame (flag byte, 4-byte big-endian length, message) to `path`. */
export function writeTaskRequestFrame(path: string, agentId = "echo-agent"): Buffer {
  const message = toBinary(
    TaskRequestSchema,
    create(TaskRequestSchema, { taskId: "bench", agentId, input: requestInput }),
  );
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  writeFileSync(path, frame);
  return frame;
}
