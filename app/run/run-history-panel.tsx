"use client";
// Earlier calls from this browser; one click puts a call back into the form.
import { formatAgo, formatMs } from "../../components/format";
import { useLocalList } from "../../components/local-list";
import { type RunHistoryEntry, runHistory } from "../../components/run-history";
import { useNow } from "../../components/use-now";

export function RunHistoryPanel({ onRestore }: { onRestore: (entry: RunHistoryEntry) => void }) {
  const [items, update] = useLocalList(runHistory);
  const now = useNow(10_000);
  return (
    <section className="card flush" aria-labelledby="run-history-title" data-testid="run-history">
      <div className="card-header">
        <h2 id="run-history-title" className="card-title">
          History
        </h2>
        {items.length > 0 && (
          <button type="button" className="button small ghost" onClick={() => update(() => [])}>
            Clear
          </button>
        )}
      </div>
      {items.length === 0 ? (
        <p className="card-body muted" style={{ margin: 0 }}>
          Calls you run appear here, kept in this browser.
        </p>
      ) : (
        <ul className="history-list" style={{ maxHeight: 320, overflow: "auto" }}>
          {items.map((entry) => (
            <li key={entry.id}>
              <button
                type="button"
                className="history-item"
                onClick={() => onRestore(entry)}
                data-testid="history-item"
              >
                <span className={`badge ${entry.code === "OK" ? "tone-ok" : "tone-bad"}`}>
                  {entry.code}
                </span>
                <span className="truncate" style={{ flex: 1 }}>
                  <strong>{entry.method.split("/").at(-1)}</strong>{" "}
                  <span className="muted mono">{entry.target}</span>
                </span>
                <span className="faint nowrap">
                  {entry.messages > 1 ? `${entry.messages} msgs · ` : ""}
                  {formatMs(entry.elapsedMs)} · {formatAgo(entry.atMs, now)}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
