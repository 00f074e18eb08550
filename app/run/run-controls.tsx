"use client";
// Deadline, Run and Cancel. Cancel (or Escape anywhere while a call runs) stops the call and
// hands focus back to Run, so a keyboard user is never left on a button that vanished.
import { type RefObject, useCallback, useEffect, useId, useRef } from "react";
import { Icon } from "../../components/icons";
import type { InvokeState } from "../../components/invoke-session";

/** Cancel that returns focus to Run once the call has ended; Escape anywhere cancels too. */
export function useCancelToRun(invoke: InvokeState): {
  cancel: () => void;
  runButton: RefObject<HTMLButtonElement | null>;
} {
  const runButton = useRef<HTMLButtonElement>(null);
  const focusRunWhenDone = useRef(false);
  const { running, cancel: stop } = invoke;

  const cancel = useCallback(() => {
    focusRunWhenDone.current = true;
    stop();
  }, [stop]);

  useEffect(() => {
    if (!running && focusRunWhenDone.current) {
      focusRunWhenDone.current = false;
      runButton.current?.focus();
    }
  }, [running]);

  useEffect(() => {
    if (!running) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape" && !event.defaultPrevented) cancel();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [running, cancel]);

  return { cancel, runButton };
}

export function RunControls({
  deadline,
  deadlineValid,
  onDeadline,
  canRun,
  blockedReason,
  onRun,
  running,
  cancel,
  runButton,
}: {
  deadline: string;
  deadlineValid: boolean;
  onDeadline: (text: string) => void;
  canRun: boolean;
  /** Why Run is disabled, in the gateway's words, when the request would be refused. */
  blockedReason?: string | undefined;
  onRun: () => void;
  running: boolean;
  cancel: () => void;
  runButton: RefObject<HTMLButtonElement | null>;
}) {
  const id = useId();
  return (
    <>
      <div className="field" style={{ maxWidth: 260 }}>
        <label htmlFor={`${id}-deadline`} className="field-label">
          Deadline (ms)
        </label>
        <input
          id={`${id}-deadline`}
          className="input mono"
          inputMode="numeric"
          placeholder="gateway default"
          value={deadline}
          onChange={(e) => onDeadline(e.target.value)}
          aria-invalid={!deadlineValid}
          data-testid="run-deadline"
        />
        {!deadlineValid && (
          <span className="inline-error">A whole number of milliseconds, at most one hour.</span>
        )}
      </div>
      <div className="form-actions">
        <button
          ref={runButton}
          type="button"
          className="button primary"
          onClick={onRun}
          disabled={!canRun || running}
          aria-describedby={blockedReason !== undefined ? `${id}-blocked` : undefined}
          data-testid="run-button"
          title="Run (Ctrl+Enter)"
        >
          <Icon name="run" size={16} /> {running ? "Running…" : "Run"}
        </button>
        {running && (
          <button
            type="button"
            className="button danger"
            onClick={cancel}
            data-testid="cancel-button"
          >
            <Icon name="stop" size={16} /> Cancel
          </button>
        )}
        <span className="faint hide-narrow">Ctrl+Enter runs · Escape cancels</span>
      </div>
      {blockedReason !== undefined && (
        <span id={`${id}-blocked`} className="inline-error" data-testid="run-blocked">
          Run is off: {blockedReason}.
        </span>
      )}
    </>
  );
}
