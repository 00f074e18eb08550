"use client";
// Audit: who ran, probed or changed what, when, through which router, with which result; kept
// by the gateway, admins only. Says plainly what is not recorded.
import { createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useSearchParams } from "next/navigation";
import { useId, useState } from "react";
import { formatDateTime, formatDuration, formatMs } from "../../components/format";
import { Icon } from "../../components/icons";
import { roleLabel, useSession } from "../../components/session-context";
import { EmptyState, ErrorState, LoadingState } from "../../components/state-views";
import { useSetSearchParams } from "../../components/use-search-param";
import { type AuditEntry, ConsoleService, Role } from "../../gen/agentplatform/v1/console_pb";
import { AuditEntryDetail } from "./audit-entry-detail";

const pageSize = 100;

/** datetime-local text ("2026-12-05T17:40") to ms, or 0 when empty or unreadable. */
function parseLocal(text: string | null): number {
  if (!text) return 0;
  const ms = new Date(text).getTime();
  return Number.isFinite(ms) ? ms : 0;
}

export function AuditView() {
  const { isAdmin, session } = useSession();
  const params = useSearchParams();
  const setParams = useSetSearchParams();
  const transport = useTransport();
  const [filter, setFilter] = useState(() => params.get("q") ?? "");
  const [older, setOlder] = useState<AuditEntry[]>([]);
  const id = useId();
  const fromText = params.get("from") ?? "";
  const toText = params.get("to") ?? "";
  const fromMs = parseLocal(fromText);
  const toMs = parseLocal(toText);
  const selectedId = params.get("entry");

  const fetchPage = (beforeId: bigint, signal?: AbortSignal) =>
    createClient(ConsoleService, transport).listAuditEntries(
      { limit: pageSize, beforeId, fromMs: BigInt(fromMs), toMs: BigInt(toMs) },
      signal ? { signal } : {},
    );
  const newest = useQuery({
    queryKey: ["audit", fromMs, toMs],
    queryFn: ({ signal }) => fetchPage(0n, signal),
    enabled: isAdmin,
    refetchInterval: 5000,
    placeholderData: keepPreviousData,
  });
  const [olderNext, setOlderNext] = useState<bigint | undefined>(undefined);

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
            every run, routing probe and operator action made through the console, with its caller
            and result; ask an admin for access.
          </p>
        </div>
      </div>
    );
  }

  const data = newest.data;
  const seen = new Set<bigint>();
  const all = [...(data?.entries ?? []), ...older].filter((e) => {
    if (seen.has(e.id)) return false;
    seen.add(e.id);
    return true;
  });
  const q = filter.trim().toLowerCase();
  const entries = all.filter(
    (e) =>
      q === "" ||
      [e.subject, e.method, e.target, e.code, e.peer, e.router, e.category, e.detail].some((f) =>
        f.toLowerCase().includes(q),
      ),
  );
  const nextBefore = older.length > 0 ? olderNext : data?.nextBeforeId;
  const selected = all.find((e) => String(e.id) === selectedId);

  async function showOlder() {
    const before = (older.at(-1) ?? data?.entries.at(-1))?.id;
    if (before === undefined) return;
    const page = await fetchPage(before);
    setOlder((o) => [...o, ...page.entries]);
    setOlderNext(page.nextBeforeId);
  }

  return (
    <div className="page" data-testid="audit-page">
      <div className="page-header">
        <div>
          <h1>Audit</h1>
          <p>Newest first, kept by the gateway across restarts.</p>
        </div>
      </div>

      <section className="card" aria-labelledby={`${id}-scope`} data-testid="audit-scope">
        <h2 id={`${id}-scope`} className="card-title">
          What is recorded
        </h2>
        <p style={{ margin: "0 0 6px" }}>
          Every run through the console and the browser endpoint (methods run, tasks started or
          cancelled), every routing probe (Trace routing) and every operator action (maintenance,
          router drain), with caller, role, router, status, duration and metadata; credentials in
          metadata are replaced by [redacted].
        </p>
        <p className="muted" style={{ margin: 0 }}>
          <strong>Not recorded:</strong> calls made straight to the gRPC front door (port 50051 by
          default) by programs such as grpcurl or an SDK, and reads (lists, live views, job status).
          {data !== undefined && (
            <>
              {" "}
              Kept: {String(data.kept)} entries, at most {String(data.maxEntries)} and{" "}
              {formatDuration(Number(data.maxAgeMs))}
              {data.kept > 0n && <>; the oldest from {formatDateTime(Number(data.oldestKeptMs))}</>}
              .
            </>
          )}
        </p>
      </section>

      <div className="toolbar">
        <div className="search-input" style={{ flex: "1 1 220px" }}>
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
        <label className="field" style={{ flex: "0 1 200px" }}>
          <span className="field-label">From</span>
          <input
            className="input"
            type="datetime-local"
            value={fromText}
            onChange={(e) => {
              setOlder([]);
              setParams({ from: e.target.value });
            }}
            data-testid="audit-from"
          />
        </label>
        <label className="field" style={{ flex: "0 1 200px" }}>
          <span className="field-label">To</span>
          <input
            className="input"
            type="datetime-local"
            value={toText}
            onChange={(e) => {
              setOlder([]);
              setParams({ to: e.target.value });
            }}
            data-testid="audit-to"
          />
        </label>
      </div>

      {selected !== undefined && (
        <AuditEntryDetail entry={selected} onClose={() => setParams({ entry: undefined })} />
      )}

      {data === undefined ? (
        newest.isPending ? (
          <LoadingState rows={6} />
        ) : (
          <ErrorState error={newest.error} onRetry={() => void newest.refetch()} />
        )
      ) : entries.length === 0 ? (
        <EmptyState title={q === "" ? "No entries" : "No entry matches"} testId="audit-empty">
          {q === "" ? "Runs, probes and actions through the console are recorded here." : undefined}
        </EmptyState>
      ) : (
        <div className="card flush table-wrap">
          <table className="table" data-testid="audit-table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col" className="hide-narrow">
                  Caller
                </th>
                <th scope="col">Method</th>
                <th scope="col" className="hide-narrow">
                  Target
                </th>
                <th scope="col">Code</th>
                <th scope="col" className="num hide-narrow">
                  Duration
                </th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr
                  key={String(e.id)}
                  data-testid="audit-row"
                  aria-current={String(e.id) === selectedId ? "true" : undefined}
                >
                  <td className="mono audit-time">
                    <button
                      type="button"
                      className="link-button"
                      onClick={() => setParams({ entry: String(e.id) })}
                      aria-label={`Open entry ${String(e.id)}: ${e.method} at ${formatDateTime(Number(e.atMs))}`}
                      data-testid="audit-open"
                    >
                      {formatDateTime(Number(e.atMs))}
                    </button>
                  </td>
                  <td className="hide-narrow">
                    {e.subject || "–"} <span className="faint">{roleLabel(e.role)}</span>
                  </td>
                  <td className="mono audit-method">
                    {e.method.replace("/agentplatform.v1.", "")}
                    {e.category !== "" && e.category !== "run" && (
                      <span className="chip">{e.category}</span>
                    )}
                  </td>
                  <td className="mono hide-narrow">
                    {e.target || "–"}
                    {e.detail !== "" && <div className="faint">{e.detail}</div>}
                  </td>
                  <td>
                    <span className={`badge ${e.code === "OK" ? "tone-ok" : "tone-bad"}`}>
                      {e.code}
                    </span>
                  </td>
                  <td className="num hide-narrow">{formatMs(e.durationMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data !== undefined && nextBefore !== undefined && nextBefore > 0n && (
        <button
          type="button"
          className="button"
          onClick={() => void showOlder()}
          data-testid="audit-older"
        >
          Older entries
        </button>
      )}
    </div>
  );
}
