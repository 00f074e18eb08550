"use client";
// One audit entry in full: who, with which role, what, through which router, and the outcome.
import { formatDateTime, formatMs } from "../../components/format";
import { roleLabel } from "../../components/session-context";
import type { AuditEntry } from "../../gen/agentplatform/v1/console_pb";

export function AuditEntryDetail({ entry, onClose }: { entry: AuditEntry; onClose: () => void }) {
  const metadata = Object.entries(entry.metadata);
  const titleId = `audit-entry-${entry.id}`;
  return (
    <section className="card section" aria-labelledby={titleId} data-testid="audit-detail">
      <div className="section-header">
        <h2 id={titleId} className="card-title" style={{ margin: 0 }}>
          Entry #{String(entry.id)}
        </h2>
        <button type="button" className="button small ghost" onClick={onClose}>
          Close
        </button>
      </div>
      <dl className="kv">
        <dt>Time</dt>
        <dd className="mono">{formatDateTime(Number(entry.atMs))}</dd>
        <dt>Kind</dt>
        <dd>{entry.category || "run"}</dd>
        <dt>Caller</dt>
        <dd>
          {entry.subject || "–"} ({roleLabel(entry.role)}) from{" "}
          <span className="mono">{entry.peer || "–"}</span>
        </dd>
        <dt>Method</dt>
        <dd className="mono">{entry.method}</dd>
        <dt>Target</dt>
        <dd className="mono">{entry.target || "–"}</dd>
        <dt>Router</dt>
        <dd className="mono" data-testid="audit-detail-router">
          {entry.router || "–"}
        </dd>
        <dt>Instance</dt>
        <dd className="mono">
          {entry.instance || <span className="muted">not reported by the router</span>}
        </dd>
        <dt>Status</dt>
        <dd>
          <span className={`badge ${entry.code === "OK" ? "tone-ok" : "tone-bad"}`}>
            {entry.code}
          </span>
          {entry.message !== "" && <span className="muted"> {entry.message}</span>}
        </dd>
        <dt>Duration</dt>
        <dd>{formatMs(entry.durationMs)}</dd>
        {entry.detail !== "" && (
          <>
            <dt>Detail</dt>
            <dd>{entry.detail}</dd>
          </>
        )}
        <dt>Metadata</dt>
        <dd data-testid="audit-detail-metadata">
          {metadata.length === 0 ? (
            "none"
          ) : (
            <dl className="kv mono">
              {metadata.map(([k, v]) => (
                <div key={k} style={{ display: "contents" }}>
                  <dt>{k}</dt>
                  <dd>{v}</dd>
                </div>
              ))}
            </dl>
          )}
        </dd>
      </dl>
    </section>
  );
}
