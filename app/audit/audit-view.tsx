"use client";
// Audit: who ran what, when, and with which result; admins only.
import { useQuery } from "@connectrpc/connect-query";
import { useSearchParams } from "next/navigation";
import { useId, useState } from "react";
import { formatClock, formatMs } from "../../components/format";
import { Icon } from "../../components/icons";
import { roleLabel, useSession } from "../../components/session-context";
import { EmptyState, ErrorState, LoadingState } from "../../components/state-views";
import { useSetSearchParams } from "../../components/use-search-param";
import { ConsoleService, Role } from "../../gen/agentplatform/v1/console_pb";

export function AuditView() {
  const { isAdmin, session } = useSession();
  const params = useSearchParams();
  const setParams = useSetSearchParams();
  const [filter, setFilter] = useState(() => params.get("q") ?? "");
  const id = useId();
  const audit = useQuery(
    ConsoleService.method.listAuditEntries,
    { limit: 500 },
    { enabled: isAdmin, refetchInterval: 5000 },
  );

  if (!isAdmin) {
    return (
      <div className="page" data-testid="audit-page">
        <div className="page-header">
          <h1>Audit</h1>
        </div>
        <div className="state" role="note" data-testid="audit-forbidden">
          <p className="state-title">
            <Icon name="lock" /> Only admins can read the audit log
          </p>
          <p className="state-detail">
            You are signed in as {roleLabel(session?.role ?? Role.UNSPECIFIED)}. The log records
            every call made through the console and the front door with its caller and result; ask
            an admin for access.
          </p>
        </div>
      </div>
    );
  }

  const q = filter.trim().toLowerCase();
  const entries = (audit.data?.entries ?? []).filter(
    (e) =>
      q === "" ||
      [e.subject, e.method, e.target, e.code, e.peer].some((f) => f.toLowerCase().includes(q)),
  );

  return (
    <div className="page" data-testid="audit-page">
      <div className="page-header">
        <div>
          <h1>Audit</h1>
          <p>The most recent calls, newest first.</p>
        </div>
        <div className="search-input">
          <label htmlFor={`${id}-q`} className="visually-hidden">
            Filter entries
          </label>
          <Icon name="search" size={16} />
          <input
            id={`${id}-q`}
            className="input"
            type="search"
            placeholder="Filter by subject, method, code…"
            value={filter}
            onChange={(e) => {
              setFilter(e.target.value);
              setParams({ q: e.target.value });
            }}
          />
        </div>
      </div>
      {audit.data === undefined ? (
        audit.isPending ? (
          <LoadingState rows={6} />
        ) : (
          <ErrorState error={audit.error} onRetry={() => void audit.refetch()} />
        )
      ) : entries.length === 0 ? (
        <EmptyState title={q === "" ? "No entries yet" : "No entry matches"} testId="audit-empty">
          {q === "" ? "Calls made through the gateway are recorded here." : undefined}
        </EmptyState>
      ) : (
        <div className="card flush table-wrap">
          <table className="table" data-testid="audit-table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Subject</th>
                <th scope="col">Method</th>
                <th scope="col">Target</th>
                <th scope="col">Code</th>
                <th scope="col" className="num">
                  Duration
                </th>
                <th scope="col" className="hide-narrow">
                  Peer
                </th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: entries have no id; order is fixed per answer.
                <tr key={`${e.atMs}-${i}`} data-testid="audit-row">
                  <td className="nowrap mono">{formatClock(Number(e.atMs))}</td>
                  <td>
                    {e.subject || "–"} <span className="faint">{roleLabel(e.role)}</span>
                  </td>
                  <td className="mono">{e.method.replace("/agentplatform.v1.", "")}</td>
                  <td className="mono">
                    {e.target || "–"}
                    {e.detail !== "" && <div className="faint">{e.detail}</div>}
                  </td>
                  <td>
                    <span className={`badge ${e.code === "OK" ? "tone-ok" : "tone-bad"}`}>
                      {e.code}
                    </span>
                  </td>
                  <td className="num">{formatMs(e.durationMs)}</td>
                  <td className="mono hide-narrow faint">{e.peer}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
