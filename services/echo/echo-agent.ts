// The echo agent: answers "Echo: <input>", or streams the input back word by word.
import { Code, ConnectError } from "@connectrpc/connect";
import type { TaskRequest } from "../../gen/agentplatform/v1/platform_pb";
import { defineAgent, sleep } from "../sdk";

const defaultDelayMs = 100;
const maxDelayMs = 10_000;

function delayOf(request: TaskRequest): number {
  const raw = request.parameters.delay_ms;
  if (raw === undefined || raw === "") return defaultDelayMs;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0 || ms > maxDelayMs) {
    throw new ConnectError(
      `parameters.delay_ms must be a whole number of milliseconds from 0 to ${maxDelayMs}, got "${raw}"`,
      Code.InvalidArgument,
    );
  }
  return ms;
}

export const echoAgent = defineAgent({
  name: "echo",
  description: "Repeats its input; streams it back word by word with progress.",
  capabilities: ["echo", "text-processing", "streaming"],
  version: "1.0.0",
  executeTask(request) {
    return { output: `Echo: ${request.input}` };
  },
  async *streamTask(request, ctx) {
    const delayMs = delayOf(request);
    const words = request.input.split(/\s+/).filter((w) => w !== "");
    const echoed: string[] = [];
    for (const [i, word] of words.entries()) {
      await sleep(delayMs, ctx.signal);
      echoed.push(word);
      yield {
        output: word,
        progress: Math.floor(((i + 1) / (words.length + 1)) * 100),
        metadata: { word_index: String(i), words: String(words.length) },
      };
    }
    yield {
      output: `Echo: ${request.input}`,
      done: true,
      success: true,
      progress: 100,
      metadata: { words: String(echoed.length) },
    };
  },
});
