"use client";
// The last line of defence: a page that threw shows what happened and can try again.
import { ErrorState } from "../components/state-views";

export default function PageError({ error, reset }: { error: Error; reset: () => void }) {
  return (
    <div className="page">
      <ErrorState error={error} onRetry={reset} context="This page failed" />
    </div>
  );
}
