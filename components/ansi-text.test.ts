import { describe, expect, it } from "vitest";
import { parseAnsi, stripAnsi } from "./ansi-text";

describe("parseAnsi", () => {
  it("turns SGR colours and bold into styled segments and carries the style on", () => {
    const { segments, end } = parseAnsi("plain \x1b[1;31mred bold\x1b[0m back \x1b[92mgreen");
    expect(segments).toEqual([
      { text: "plain ", style: {} },
      { text: "red bold", style: { bold: true, fg: 1 } },
      { text: " back ", style: {} },
      { text: "green", style: { fg: 10 } },
    ]);
    expect(end).toEqual({ fg: 10 });
    expect(parseAnsi("next line", end).segments).toEqual([
      { text: "next line", style: { fg: 10 } },
    ]);
  });

  it("drops cursor moves, titles and other controls but keeps tabs", () => {
    const line = "\x1b]0;title\x07a\tb\x1b[2K\x1b[1Gc\rd\x1b[38;5;4me\x1b[38;2;1;2;3mf";
    expect(
      parseAnsi(line)
        .segments.map((s) => s.text)
        .join(""),
    ).toBe("a\tbcdef");
    expect(parseAnsi(line).segments.at(-2)).toEqual({ text: "e", style: { fg: 4 } });
    expect(stripAnsi(line)).toBe("a\tbcdef");
  });
});
