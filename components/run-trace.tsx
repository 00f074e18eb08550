"use client";
// The trace of a finished console run: the gateway's, routers' and instance's spans as a
// waterfall with timings, retries and status codes, and a link to the trace UI when one is
// configured. Shown only when the gateway records traces.
import { createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { useEffect, useState } from "react";
import { type GetRunTraceResponse, TraceService } from "../gen/agentplatform/v1/trace_pb";
import { codeName } from "./error-text";
import { formatMs } from "./format";
import type { InvokeRun } from "./invoke-session";
import { waterfallRows } from "./trace-waterfall";

/** Spans are exported in batches: ask a few times until their number settles. */
const pollMs = 700;
const maxPolls = 12;

function useRunTrace(traceId: string | undefined, finished: boolean) {
  const transport = useTransport();
  const [trace, setTrace] = useState<GetRunTraceResponse | undefined>(undefined);
  useEffect(() => {
    setTrace(undefined);
    if (traceId === undefined || !finished) return;
    const client = createClient(TraceService, transport);
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = -1;
    let polls = 0;
    const poll = async () => {
      polls++;
      const answer = await client.getRunTrace({ traceId }).catch(() => undefined);
      if (stopped || answer === undefined) return;
      setTrace(answer);
      const count = answer.spans.length;
      const settled = count > 0 && count === last;
      last = count;
      if (answer.tracingEnabled && !settled && polls < maxPolls) timer = setTimeout(poll, pollMs);
    };
    timer = setTimeout(poll, pollMs);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [traceId, finished, transport]);
  return trace;
}

function shortName(name: string): string {
  return name.replace(/^agentplatform\.v1\./, "");
}

export function RunTrace({ run }: { run: InvokeRun | undefined }) {
  const trace = useRunTrace(run?.traceId, run?.outcome !== undefined);
  if (run === undefined || trace === undefined || !trace.tracingEnabled) return null;
  const rows = waterfallRows(trace.spans);
  const total =
    rows.length === 0 ? 0 : Math.max(...rows.map((r) => r.offsetMs + r.span.durationMs));
  return (
    <section className="card flush" data-testid="run-trace" aria-labelledby="run-trace-title">
      <div className="result-bar">
        <h2 className="card-title" id="run-trace-title" style={{ margin: 0 }}>
          Trace
        </h2>
        <span className="mono faint truncate" title="trace id">
          {run.traceId}
        </span>
        <span className="spacer" />
        {total > 0 && <span className="muted nowrap">{formatMs(total)}</span>}
        {trace.traceUiUrl !== "" && (
          <a className="button small" href={trace.traceUiUrl} target="_blank" rel="noreferrer">
            Open in trace UI
          </a>
        )}
      </div>
      {rows.length === 0 ? (
        <p className="card-body muted" style={{ margin: 0 }}>
          Waiting for the spans of this run…
        </p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="run-trace-spans">
            <thead>
              <tr>
                <th scope="col">Span</th>
                <th scope="col">Code</th>
                <th scope="col" style={{ width: "40%" }}>
                  Timeline
                </th>
                <th scope="col">Time</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => {
                const s = row.span;
                const failed = s.error || (s.grpcStatusCode > 0 && s.kind === "client");
                return (
                  <tr key={s.spanId} data-service={s.service} data-kind={s.kind}>
                    <td style={{ paddingLeft: `${0.75 + row.depth * 1.1}rem` }}>
                      <span className="chip">{s.service}</span>{" "}
                      <span className="faint">{s.kind === "client" ? "→" : "◆"}</span>{" "}
                      <span className="mono">{shortName(s.name)}</span>
                      {s.serverAddress !== "" && (
                        <span className="faint mono"> @ {s.serverAddress}</span>
                      )}
                      {row.retries > 0 && (
                        <span className="badge tone-warn" style={{ marginLeft: 6 }}>
                          {row.retries} {row.retries === 1 ? "retry" : "retries"}
                        </span>
                      )}
                    </td>
                    <td>
                      {s.grpcStatusCode >= 0 && (
                        <span className={`badge ${failed ? "tone-bad" : "tone-ok"}`}>
                          {s.grpcStatusCode === 0 ? "OK" : codeName(s.grpcStatusCode)}
                        </span>
                      )}
                    </td>
                    <td>
                      <div className="timeline-bar" aria-hidden="true">
                        <span
                          className={failed ? "tone-bad" : "tone-ok"}
                          style={{ left: `${row.leftPct}%`, width: `${row.widthPct}%` }}
                        />
                      </div>
                    </td>
                    <td className="nowrap mono">
                      <span className="faint">+{formatMs(row.offsetMs)}</span>{" "}
                      {formatMs(s.durationMs)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
