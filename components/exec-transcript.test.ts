import { describe, expect, it } from "vitest";
import { createExecTranscript, splitCommandLine } from "./exec-transcript";

const output = (stream: "STDOUT" | "STDERR", text: Uint8Array | string) =>
  JSON.stringify({
    output: {
      stream: `EXEC_STREAM_${stream}`,
      data: Buffer.from(typeof text === "string" ? Buffer.from(text) : text).toString("base64"),
    },
  });
const text = (line: { segments: { text: string }[] }) => line.segments.map((s) => s.text).join("");

describe("createExecTranscript", () => {
  it("keeps lines of each stream whole and in arrival order, across chunk and UTF-8 splits", () => {
    const t = createExecTranscript();
    const euro = Buffer.from("€\n");
    t.add(output("STDOUT", "one\ntw"));
    t.add(output("STDERR", "warn\n"));
    t.add(output("STDOUT", Buffer.concat([Buffer.from("o "), euro.subarray(0, 1)])));
    expect(t.lines.map((l) => [l.stream, text(l)])).toEqual([
      ["stdout", "one"],
      ["stderr", "warn"],
    ]);
    expect(t.partial().map(text)).toEqual(["two "]);
    t.add(output("STDOUT", euro.subarray(1)));
    t.add(output("STDOUT", "\x1b[32mdone\r"));
    t.add(
      JSON.stringify({
        result: {
          exitCode: 0,
          reason: "EXEC_END_REASON_EXITED",
          durationMs: 12.5,
          stdoutBytes: "16",
        },
      }),
    );
    expect(t.lines.map(text)).toEqual(["one", "warn", "two €", "done"]);
    expect(t.lines.at(-1)?.segments[0]?.style).toEqual({ fg: 2 });
    expect(t.end).toMatchObject({ exitCode: 0, reason: "exited", stdoutBytes: 16 });
  });

  it("says how a killed command ended", () => {
    const t = createExecTranscript();
    t.add(JSON.stringify({ result: { signal: "SIGTERM", reason: "EXEC_END_REASON_TIMED_OUT" } }));
    expect(t.end).toMatchObject({ exitCode: undefined, signal: "SIGTERM", reason: "timed out" });
  });
});

describe("splitCommandLine", () => {
  it("splits on spaces and honours quotes and backslashes", () => {
    expect(splitCommandLine(`ls -la  "my dir" it\\'s ''`)).toEqual([
      "ls",
      "-la",
      "my dir",
      "it's",
      "",
    ]);
    expect(splitCommandLine("echo 'open")).toEqual({ error: "unclosed ' quote" });
  });
});
