"use client";
// Streamed messages in a virtualised list: only the visible rows exist in the DOM, so tens of
// thousands of messages scroll smoothly; follows the tail until the operator scrolls up.
import { memo } from "react";
import { formatClockMs, formatElapsed, formatMs } from "./format";
import type { ReceivedMessage } from "./invoke-session";
import { useTailFollowingList } from "./use-tail-following-list";

const rowHeight = 32;

export interface MessageListProps {
  messages: readonly ReceivedMessage[];
  /** How many of `messages` to show; grows while the stream runs. */
  count: number;
  selected: number | undefined;
  onSelect: (index: number) => void;
}

export function MessageList({ messages, count, selected, onSelect }: MessageListProps) {
  const { scrollRef, follow, setFollow, virtualizer, onScroll } = useTailFollowingList(
    count,
    rowHeight,
    12,
  );

  return (
    <div style={{ position: "relative" }}>
      <div
        ref={scrollRef}
        className="message-list"
        style={{ height: Math.min(420, Math.max(3, count) * rowHeight + 2) }}
        onScroll={onScroll}
        data-testid="message-list"
        data-count={count}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the scroll area must be reachable by keyboard.
        tabIndex={0}
      >
        <ul
          aria-label={`${count} messages received`}
          style={{
            height: virtualizer.getTotalSize(),
            position: "relative",
            margin: 0,
            padding: 0,
          }}
        >
          {virtualizer.getVirtualItems().map((item) => {
            const message = messages[item.index];
            if (message === undefined) return null;
            return (
              <MessageRow
                key={item.key}
                message={message}
                top={item.start}
                selected={selected === item.index}
                onSelect={() => onSelect(item.index)}
              />
            );
          })}
        </ul>
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

const MessageRow = memo(function MessageRow({
  message,
  top,
  selected,
  onSelect,
}: {
  message: ReceivedMessage;
  top: number;
  selected: boolean;
  onSelect: () => void;
}) {
  return (
    <li className="message-slot" style={{ top, height: rowHeight }}>
      <button
        type="button"
        className="message-row"
        aria-pressed={selected}
        onClick={onSelect}
        data-testid="message-row"
      >
        <span className="index">#{message.index}</span>
        <span
          className="at"
          title={`${formatMs(message.elapsedMs)} after the call started (received at ${formatClockMs(message.receivedAtMs)})`}
        >
          {formatElapsed(message.elapsedMs)}
        </span>
        <span className="truncate">{messagePreview(message.json)}</span>
      </button>
    </li>
  );
});

/** Fields that say most about a message, shown first in its one-line preview. */
const leadingKeys = ["output", "outputJson", "message", "error", "state", "progress", "done"];

/** One line for a message: its telling fields first, then the rest as JSON. Only visible rows pay for it. */
export function messagePreview(json: string): string {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return json;
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return json;
  const record = value as Record<string, unknown>;
  const lead = leadingKeys
    .filter((k) => record[k] !== undefined && record[k] !== "" && record[k] !== false)
    .map((k) => `${k}: ${typeof record[k] === "string" ? record[k] : JSON.stringify(record[k])}`);
  if (lead.length === 0) return json;
  const rest = Object.keys(record).filter((k) => !leadingKeys.includes(k));
  return rest.length === 0 ? lead.join("  ·  ") : `${lead.join("  ·  ")}  ·  {${rest.join(", ")}}`;
}
