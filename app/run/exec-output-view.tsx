"use client";
// A terminal-like, virtualised view of a command's output: only visible rows are in the DOM,
// stderr rows are marked and coloured apart from stdout, ANSI colours are rendered, and the
// view follows the tail until the operator scrolls up.
import { type CSSProperties, memo } from "react";
import type { AnsiStyle } from "../../components/ansi-text";
import type { TerminalLine } from "../../components/exec-transcript";
import { useTailFollowingList } from "../../components/use-tail-following-list";

const rowHeight = 20;

// The 16 ANSI colours, readable on the terminal's dark background.
const palette = [
  "#4d5566",
  "#ff6b7a",
  "#3ecf7a",
  "#f0b44c",
  "#7c93ff",
  "#e599f7",
  "#3bc9db",
  "#d5d9e0",
  "#8a93a3",
  "#ff8f9b",
  "#69db95",
  "#ffd278",
  "#99abff",
  "#f0b5fa",
  "#66d9e8",
  "#ffffff",
];

function styleOf(style: AnsiStyle): CSSProperties | undefined {
  if (
    style.fg === undefined &&
    style.bg === undefined &&
    !style.bold &&
    !style.dim &&
    !style.underline
  ) {
    return undefined;
  }
  return {
    ...(style.fg !== undefined ? { color: palette[style.fg] } : {}),
    ...(style.bg !== undefined ? { background: palette[style.bg] } : {}),
    ...(style.bold ? { fontWeight: 700 } : {}),
    ...(style.dim ? { opacity: 0.7 } : {}),
    ...(style.underline ? { textDecoration: "underline" } : {}),
  };
}

export interface ExecOutputViewProps {
  lines: readonly TerminalLine[];
  /** Rows to show (grows while the command runs); includes unfinished lines. */
  count: number;
  label: string;
}

export function ExecOutputView({ lines, count, label }: ExecOutputViewProps) {
  const { scrollRef, follow, setFollow, virtualizer, onScroll } = useTailFollowingList(
    count,
    rowHeight,
    20,
  );

  return (
    <div style={{ position: "relative" }}>
      <div
        ref={scrollRef}
        className="exec-terminal"
        style={{
          height: Math.min(440, Math.max(6, count) * rowHeight + 16),
          overflow: "auto",
          background: "#0d1017",
          color: "#d5d9e0",
          fontFamily: "var(--font-mono)",
          fontSize: 12.5,
          padding: "8px 0",
          borderRadius: "0 0 var(--radius) var(--radius)",
        }}
        onScroll={onScroll}
        data-testid="exec-output"
        data-count={count}
        role="log"
        aria-label={label}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the scroll area must be reachable by keyboard.
        tabIndex={0}
      >
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((item) => {
            const line = lines[item.index];
            if (line === undefined) return null;
            return <OutputRow key={item.key} line={line} top={item.start} />;
          })}
        </div>
      </div>
      {!follow && count > 0 && (
        <button
          type="button"
          className="button small primary"
          style={{ position: "absolute", right: 16, bottom: 12 }}
          onClick={() => setFollow(true)}
        >
          Jump to latest
        </button>
      )}
    </div>
  );
}

const OutputRow = memo(function OutputRow({ line, top }: { line: TerminalLine; top: number }) {
  const stderr = line.stream === "stderr";
  return (
    <div
      data-testid="exec-line"
      data-stream={line.stream}
      style={{
        position: "absolute",
        top,
        left: 0,
        right: 0,
        height: rowHeight,
        lineHeight: `${rowHeight}px`,
        whiteSpace: "pre",
        padding: "0 12px 0 10px",
        borderLeft: `3px solid ${stderr ? "#ff6b7a" : "transparent"}`,
        color: stderr ? "#ffb3bb" : undefined,
        background: stderr ? "rgb(255 107 122 / 7%)" : undefined,
      }}
      title={stderr ? "stderr" : undefined}
    >
      {line.segments.length === 0
        ? " "
        : line.segments.map((segment, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: segments of a line never reorder.
            <span key={i} style={styleOf(segment.style)}>
              {segment.text}
            </span>
          ))}
    </div>
  );
});
