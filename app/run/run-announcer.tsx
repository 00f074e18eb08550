"use client";
// One polite announcement per state change of a call (started, finished, failed, cancelled),
// never one per streamed message: the result itself is not a live region.
import { formatMs } from "../../components/format";
import type { InvokeRun } from "../../components/invoke-session";

export function runAnnouncement(run: InvokeRun | undefined): string {
  if (run === undefined) return "";
  const method = run.spec.method.split("/").at(-1) ?? run.spec.method;
  const outcome = run.outcome;
  if (outcome === undefined) return `Running ${method}.`;
  if (outcome.source === "console") return `${method} cancelled.`;
  const messages = `${run.messages.length} ${run.messages.length === 1 ? "message" : "messages"}`;
  return outcome.code === "OK"
    ? `${method} finished: OK, ${messages} in ${formatMs(outcome.elapsedMs)}.`
    : `${method} failed: ${outcome.code}. ${outcome.message}`;
}

export function RunAnnouncer({ run }: { run: InvokeRun | undefined }) {
  return (
    <p className="visually-hidden" role="status" aria-live="polite" data-testid="run-announcement">
      {runAnnouncement(run)}
    </p>
  );
}
