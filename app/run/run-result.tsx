"use client";
// The outcome of a call: status code, timing, router, headers and trailers, and the messages.
import { useState } from "react";
import { formatMs } from "../../components/format";
import { Icon } from "../../components/icons";
import { type InvokeState, useMessageCount } from "../../components/invoke-session";
import { JsonView } from "../../components/json-view";
import { MessageList } from "../../components/message-list";

export function RunResult({
  invoke,
  onCancel,
  streaming,
}: {
  invoke: InvokeState;
  /** Cancels the call and hands focus back to Run. */
  onCancel: () => void;
  streaming: boolean;
}) {
  const { run, running } = invoke;
  const count = useMessageCount(invoke.count);
  const [selection, setSelection] = useState<{ runId: string; index: number } | undefined>();
  // A selection belongs to one call: a new call starts with nothing selected.
  const selected =
    selection !== undefined && selection.runId === run?.id ? selection.index : undefined;
  const setSelected = (index: number) => {
    if (run !== undefined) setSelection({ runId: run.id, index });
  };

  if (run === undefined) {
    return (
      <section className="card" data-testid="run-result">
        <h2 className="card-title">Result</h2>
        <p className="muted" style={{ margin: 0 }}>
          Choose a target and method, fill in the request and press Run. Streamed messages appear
          here as they arrive.
        </p>
      </section>
    );
  }

  const outcome = run.outcome;
  const showList = streaming || run.messages.length > 1;
  const selectedMessage = selected === undefined ? undefined : run.messages[selected];
  const single = !showList ? run.messages[0] : undefined;

  return (
    <section className="card flush" data-testid="run-result" aria-busy={running}>
      <div className="result-bar">
        {outcome === undefined ? (
          <span className="badge tone-accent" data-testid="result-code" data-code="">
            running
          </span>
        ) : (
          <span
            className={`badge ${outcome.code === "OK" ? "tone-ok" : "tone-bad"}`}
            data-testid="result-code"
            data-code={outcome.code}
          >
            {outcome.code}
          </span>
        )}
        <span className="mono truncate">{run.spec.method.replace("/agentplatform.v1.", "")}</span>
        <span className="spacer" />
        <span className="muted nowrap" data-testid="message-count">
          {count} {count === 1 ? "message" : "messages"}
        </span>
        {outcome !== undefined && (
          <span className="muted nowrap">{formatMs(outcome.elapsedMs)}</span>
        )}
        {run.router !== "" && (
          <span className="chip" data-testid="result-router">
            via {run.router}
          </span>
        )}
        {running && (
          <button type="button" className="button small danger" onClick={onCancel}>
            <Icon name="stop" size={14} /> Cancel
          </button>
        )}
      </div>
      {outcome !== undefined && outcome.code !== "OK" && (
        <div className="card-body" style={{ paddingBottom: 0 }}>
          <p className="inline-error" data-testid="result-message">
            {outcome.source === "gateway" ? "The gateway refused the call: " : ""}
            {outcome.message || "The call failed."}
          </p>
        </div>
      )}
      {showList ? (
        <>
          <MessageList
            messages={run.messages}
            count={count}
            selected={selected}
            onSelect={setSelected}
          />
          {selectedMessage !== undefined && (
            <div className="card-body section">
              <div className="section-header">
                <h3>Message #{selectedMessage.index}</h3>
                <span className="faint">+{formatMs(selectedMessage.elapsedMs)}</span>
              </div>
              <JsonView json={selectedMessage.json} testId="selected-message" />
            </div>
          )}
        </>
      ) : (
        <div className="card-body">
          {single !== undefined ? (
            <JsonView json={single.json} testId="response-json" maxHeight={420} />
          ) : (
            <p className="muted" style={{ margin: 0 }}>
              {running ? "Waiting for the response…" : "No response message."}
            </p>
          )}
        </div>
      )}
      <details className="card-body" style={{ borderTop: "1px solid var(--border)" }}>
        <summary>Headers and trailers</summary>
        <HeaderTable title="Response headers" values={run.headers} />
        <HeaderTable title="Trailers" values={outcome?.trailers ?? {}} />
      </details>
    </section>
  );
}

function HeaderTable({ title, values }: { title: string; values: Record<string, string> }) {
  const entries = Object.entries(values);
  return (
    <div style={{ marginTop: 8 }}>
      <h3 style={{ marginBottom: 4 }}>{title}</h3>
      {entries.length === 0 ? (
        <span className="faint">none</span>
      ) : (
        <dl className="kv mono">
          {entries.map(([k, v]) => (
            <div key={k} style={{ display: "contents" }}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      )}
    </div>
  );
}
