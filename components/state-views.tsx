// Loading, empty and error states, so every view explains itself while data is missing.
import type { ReactNode } from "react";
import { describeError } from "./error-text";
import { Icon } from "./icons";

export function LoadingState({ label = "Loading", rows = 3 }: { label?: string; rows?: number }) {
  return (
    <div className="state loading" role="status" aria-live="polite" data-testid="loading">
      <span className="visually-hidden">{label}…</span>
      {Array.from({ length: rows }, (_, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: placeholders have no identity.
        <div key={i} className="skeleton" style={{ width: `${92 - i * 14}%` }} />
      ))}
    </div>
  );
}

export function EmptyState({
  title,
  children,
  testId = "empty",
}: {
  title: string;
  children?: ReactNode;
  testId?: string;
}) {
  return (
    <div className="state empty" data-testid={testId}>
      <p className="state-title">{title}</p>
      {children !== undefined && <div className="state-detail">{children}</div>}
    </div>
  );
}

export function ErrorState({
  error,
  onRetry,
  context,
}: {
  error: unknown;
  onRetry?: () => void;
  context?: string;
}) {
  const text = describeError(error);
  return (
    <div className="state error" role="alert" data-testid="error-state" data-code={text.code}>
      <p className="state-title">
        <Icon name="alert" /> {context !== undefined ? `${context}: ` : ""}
        {text.title}
      </p>
      <p className="state-detail">
        <code>{text.code}</code> {text.detail}
      </p>
      {onRetry !== undefined && (
        <button type="button" className="button" onClick={onRetry}>
          <Icon name="refresh" size={16} /> Try again
        </button>
      )}
    </div>
  );
}
