// ANSI escape sequences in command output: SGR colours and bold become styled segments, every
// other control sequence (cursor moves, titles, erase) is dropped, so output reads as text.

export interface AnsiStyle {
  /** Foreground colour index 0-15 (8-15 bright), or undefined for the default. */
  fg?: number | undefined;
  /** Background colour index 0-15. */
  bg?: number | undefined;
  bold?: boolean | undefined;
  dim?: boolean | undefined;
  underline?: boolean | undefined;
}

export interface AnsiSegment {
  text: string;
  style: AnsiStyle;
}

// CSI ... final byte, OSC ... BEL/ST, and two-byte escapes.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching escape sequences is the point.
const escapePattern = /\x1b\[([0-9;?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: other C0 controls but tab are dropped.
const controlPattern = /[\x00-\x08\x0b-\x1f\x7f]/g;

function applySgr(style: AnsiStyle, params: string): AnsiStyle {
  const codes = params === "" ? [0] : params.split(";").map((p) => Number(p) || 0);
  let next: AnsiStyle = { ...style };
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i] ?? 0;
    if (code === 0) next = {};
    else if (code === 1) next.bold = true;
    else if (code === 2) next.dim = true;
    else if (code === 4) next.underline = true;
    else if (code === 22) {
      next.bold = undefined;
      next.dim = undefined;
    } else if (code === 24) next.underline = undefined;
    else if (code >= 30 && code <= 37) next.fg = code - 30;
    else if (code === 39) next.fg = undefined;
    else if (code >= 40 && code <= 47) next.bg = code - 40;
    else if (code === 49) next.bg = undefined;
    else if (code >= 90 && code <= 97) next.fg = code - 90 + 8;
    else if (code >= 100 && code <= 107) next.bg = code - 100 + 8;
    else if (code === 38 || code === 48) {
      // 256-colour and true-colour forms: the first 16 map to the palette, the rest are skipped.
      const mode = codes[i + 1];
      if (mode === 5) {
        const index = codes[i + 2] ?? 0;
        if (index < 16) next[code === 38 ? "fg" : "bg"] = index;
        i += 2;
      } else if (mode === 2) {
        i += 4;
      }
    }
  }
  return next;
}

/**
 * Splits one line into styled segments. `start` is the style in force where the line begins;
 * the style at its end is returned too, so colours carry over to the next line.
 */
export function parseAnsi(
  line: string,
  start: AnsiStyle = {},
): { segments: AnsiSegment[]; end: AnsiStyle } {
  const segments: AnsiSegment[] = [];
  let style = start;
  let last = 0;
  const push = (text: string) => {
    const clean = text.replace(controlPattern, "");
    if (clean !== "") segments.push({ text: clean, style });
  };
  escapePattern.lastIndex = 0;
  for (let match = escapePattern.exec(line); match !== null; match = escapePattern.exec(line)) {
    push(line.slice(last, match.index));
    if (match[2] === "m") style = applySgr(style, match[1] ?? "");
    last = match.index + match[0].length;
  }
  push(line.slice(last));
  return { segments, end: style };
}

/** The text without any escape sequence or control character. */
export function stripAnsi(text: string): string {
  return text.replace(escapePattern, "").replace(controlPattern, "");
}
