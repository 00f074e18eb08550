// The sample dial-in agent (client id "nat-agent"): summarises or upper-cases text. It needs no
// listening port: it dials a router and receives its tasks over the link.
import { Code, ConnectError } from "@connectrpc/connect";
import { defineAgent, sleep } from "../sdk";

const stopWords = new Set(
  "a an and are as at be but by for from has have he her his i in is it its of on or she that the their they this to was were will with you".split(
    " ",
  ),
);

export function splitSentences(text: string): string[] {
  return (
    text
      .replace(/\s+/g, " ")
      .trim()
      .match(/[^.!?]+[.!?]*/g) ?? []
  )
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * An extractive summary: the sentences whose words are most frequent in the whole text, in
 * their original order.
 */
export function summarise(text: string, maxSentences: number): string[] {
  const sentences = splitSentences(text);
  if (sentences.length <= maxSentences) return sentences;
  const wordsOf = (s: string) =>
    (s.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []).filter((w) => !stopWords.has(w));
  const frequency = new Map<string, number>();
  for (const s of sentences)
    for (const w of wordsOf(s)) frequency.set(w, (frequency.get(w) ?? 0) + 1);
  const scored = sentences.map((s, index) => {
    const words = wordsOf(s);
    const score =
      words.reduce((sum, w) => sum + (frequency.get(w) ?? 0), 0) /
      Math.max(1, Math.sqrt(words.length));
    return { s, index, score };
  });
  return scored
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, maxSentences)
    .sort((a, b) => a.index - b.index)
    .map((x) => x.s);
}

const modes = ["summarise", "uppercase"] as const;
type Mode = (typeof modes)[number];

function modeOf(raw: string | undefined): Mode {
  const mode =
    raw === undefined || raw === "" ? "summarise" : raw === "summarize" ? "summarise" : raw;
  if (!(modes as readonly string[]).includes(mode)) {
    throw new ConnectError(
      `parameters.mode must be "summarise" or "uppercase", got "${raw}"`,
      Code.InvalidArgument,
    );
  }
  return mode as Mode;
}

function sentencesParam(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 2;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 50) {
    throw new ConnectError(`parameters.sentences must be 1-50, got "${raw}"`, Code.InvalidArgument);
  }
  return n;
}

function resultOf(input: string, mode: Mode, sentences: number): string[] {
  if (input.trim() === "")
    throw new ConnectError("input is empty: nothing to process", Code.InvalidArgument);
  return mode === "uppercase"
    ? splitSentences(input).map((s) => s.toUpperCase())
    : summarise(input, sentences);
}

export const natAgent = defineAgent({
  name: "nat",
  description: "Summarises or upper-cases text; runs behind NAT and dials in to a router.",
  capabilities: ["summarise", "uppercase", "text-processing", "dial-in"],
  version: "1.0.0",
  executeTask(request) {
    const mode = modeOf(request.parameters.mode);
    const parts = resultOf(request.input, mode, sentencesParam(request.parameters.sentences));
    return { output: parts.join(" "), metadata: { mode, sentences: String(parts.length) } };
  },
  async *streamTask(request, ctx) {
    const mode = modeOf(request.parameters.mode);
    const parts = resultOf(request.input, mode, sentencesParam(request.parameters.sentences));
    const delayMs = Number(request.parameters.delay_ms ?? "50");
    for (const [i, part] of parts.entries()) {
      await sleep(
        Number.isFinite(delayMs) ? Math.min(Math.max(delayMs, 0), 10_000) : 50,
        ctx.signal,
      );
      yield { output: part, progress: Math.floor(((i + 1) / (parts.length + 1)) * 100) };
    }
    yield {
      output: parts.join(" "),
      done: true,
      success: true,
      metadata: { mode, sentences: String(parts.length) },
    };
  },
});
