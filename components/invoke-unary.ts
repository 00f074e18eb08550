// One unary platform call through ConsoleService.Invoke, answered as a typed message.
import {
  create,
  type DescMessage,
  fromJsonString,
  type MessageInitShape,
  type MessageShape,
  toJsonString,
} from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { ConsoleService } from "../gen/agentplatform/v1/console_pb";
import { codeFromName } from "./error-text";

export interface InvokeUnaryOptions<I extends DescMessage, O extends DescMessage> {
  transport: Transport;
  /** Full method path, e.g. "/agentplatform.v1.TaskWorker/GetTaskStatus". */
  method: string;
  input: I;
  output: O;
  request: MessageInitShape<I>;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** Throws a ConnectError carrying the target's status code when the call fails. */
export async function invokeUnary<I extends DescMessage, O extends DescMessage>(
  options: InvokeUnaryOptions<I, O>,
): Promise<MessageShape<O>> {
  const client = createClient(ConsoleService, options.transport);
  let response: MessageShape<O> | undefined;
  for await (const event of client.invoke(
    {
      method: options.method,
      requestJson: toJsonString(options.input, create(options.input, options.request)),
      metadata: {},
      timeoutMs: options.timeoutMs ?? 0,
    },
    options.signal === undefined ? {} : { signal: options.signal },
  )) {
    if (event.event.case === "message" && response === undefined) {
      response = fromJsonString(options.output, event.event.value.json, {
        ignoreUnknownFields: true,
      });
    } else if (event.event.case === "result") {
      const { code, message } = event.event.value;
      if (code !== "OK" && code !== "") {
        throw new ConnectError(message, codeFromName(code));
      }
    }
  }
  if (response === undefined) throw new ConnectError("the call returned no message", Code.Internal);
  return response;
}
