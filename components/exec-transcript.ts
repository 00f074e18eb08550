// Turns ExecService.Exec responses (as Invoke's JSON) into terminal lines: stdout and stderr
// decoded as UTF-8 each on its own (a character split across chunks stays whole), complete lines
// in the order they arrived, ANSI styles parsed once per line, and the command's end.
import { type AnsiSegment, type AnsiStyle, parseAnsi } from "./ansi-text";

export type ExecStreamName = "stdout" | "stderr";

export interface TerminalLine {
  stream: ExecStreamName;
  segments: AnsiSegment[];
}

export interface ExecEnd {
  exitCode: number | undefined;
  signal: string | undefined;
  /** "exited", "timed out", "output limit". */
  reason: string;
  durationMs: number;
  stdoutBytes: number;
  stderrBytes: number;
  truncated: boolean;
}

export interface ExecTranscript {
  /** Complete lines so far; grows in place. */
  readonly lines: TerminalLine[];
  /** The unfinished last line of each stream, if any. */
  partial(): TerminalLine[];
  readonly end: ExecEnd | undefined;
  /** Feeds one message's JSON; returns false when it was not an ExecResponse. */
  add(json: string): boolean;
}

/** Longest line kept as one row; the rest of a longer one goes on the next rows. */
const maxLineChars = 4000;

const reasons: Record<string, string> = {
  EXEC_END_REASON_EXITED: "exited",
  EXEC_END_REASON_TIMED_OUT: "timed out",
  EXEC_END_REASON_OUTPUT_LIMIT: "output limit",
};

function base64Bytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** What a carriage return leaves visible: the text after the last one (progress bars). */
const afterCarriageReturn = (line: string) => {
  const trimmed = line.endsWith("\r") ? line.slice(0, -1) : line;
  const at = trimmed.lastIndexOf("\r");
  return at < 0 ? trimmed : trimmed.slice(at + 1);
};

export function createExecTranscript(): ExecTranscript {
  const lines: TerminalLine[] = [];
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  const pending = { stdout: "", stderr: "" };
  const styles: Record<ExecStreamName, AnsiStyle> = { stdout: {}, stderr: {} };
  let end: ExecEnd | undefined;

  const complete = (stream: ExecStreamName, text: string) => {
    const parsed = parseAnsi(afterCarriageReturn(text), styles[stream]);
    styles[stream] = parsed.end;
    lines.push({ stream, segments: parsed.segments });
  };

  const take = (stream: ExecStreamName, text: string) => {
    const parts = (pending[stream] + text).split("\n");
    pending[stream] = parts.pop() ?? "";
    for (const part of parts) complete(stream, part);
    while (pending[stream].length > maxLineChars) {
      complete(stream, pending[stream].slice(0, maxLineChars));
      pending[stream] = pending[stream].slice(maxLineChars);
    }
  };

  return {
    lines,
    get end() {
      return end;
    },
    partial() {
      return (["stdout", "stderr"] as const)
        .filter((s) => pending[s] !== "")
        .map((s) => ({
          stream: s,
          segments: parseAnsi(afterCarriageReturn(pending[s]), styles[s]).segments,
        }));
    },
    add(json) {
      let value: unknown;
      try {
        value = JSON.parse(json);
      } catch {
        return false;
      }
      if (value === null || typeof value !== "object") return false;
      const record = value as { output?: unknown; result?: unknown };
      if (record.output !== undefined && typeof record.output === "object" && record.output) {
        const output = record.output as { stream?: unknown; data?: unknown };
        const stream: ExecStreamName = output.stream === "EXEC_STREAM_STDERR" ? "stderr" : "stdout";
        const data = typeof output.data === "string" ? base64Bytes(output.data) : new Uint8Array();
        take(stream, decoders[stream].decode(data, { stream: true }));
        return true;
      }
      if (record.result !== undefined && typeof record.result === "object" && record.result) {
        const r = record.result as Record<string, unknown>;
        for (const stream of ["stdout", "stderr"] as const) {
          take(stream, decoders[stream].decode());
          if (pending[stream] !== "") complete(stream, pending[stream]);
          pending[stream] = "";
        }
        end = {
          exitCode: typeof r.exitCode === "number" ? r.exitCode : undefined,
          signal: typeof r.signal === "string" ? r.signal : undefined,
          reason: reasons[String(r.reason)] ?? "ended",
          durationMs: Number(r.durationMs ?? 0),
          stdoutBytes: Number(r.stdoutBytes ?? 0),
          stderrBytes: Number(r.stderrBytes ?? 0),
          truncated: r.truncated === true,
        };
        return true;
      }
      return false;
    },
  };
}

/** Splits a command line into words: spaces separate, quotes group, backslash escapes. */
export function splitCommandLine(line: string): string[] | { error: string } {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] ?? "";
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) return { error: `unclosed ${quote} quote` };
  if (inWord) words.push(word);
  return words;
}
