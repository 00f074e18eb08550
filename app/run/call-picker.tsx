"use client";
// The Run page's "Call" card: which target, which service, which method.
import { useId } from "react";
import {
  methodsForKind,
  type PlatformMethod,
  type TargetKind,
} from "../../components/platform-methods";
import type { ServiceSummary } from "../../gen/agentplatform/v1/console_pb";

export const runKinds: TargetKind[] = ["agent", "tool", "worker"];

/** The method a kind opens with: the first one that names a target. */
export function defaultMethod(kind: TargetKind): PlatformMethod | undefined {
  const methods = methodsForKind(kind);
  return methods.find((m) => m.targetField !== undefined) ?? methods[0];
}

export function CallPicker({
  target,
  registered,
  targets,
  kind,
  method,
  onTarget,
  onMethod,
}: {
  target: string;
  /** Whether the target is a registered client id. */
  registered: boolean;
  targets: readonly ServiceSummary[];
  kind: TargetKind;
  method: PlatformMethod | undefined;
  onTarget: (clientId: string) => void;
  onMethod: (method: PlatformMethod) => void;
}) {
  const id = useId();
  return (
    <section className="card" aria-labelledby={`${id}-call`}>
      <h2 id={`${id}-call`} className="card-title">
        Call
      </h2>
      <div className="section">
        <div className="field">
          <label htmlFor={`${id}-target`} className="field-label">
            Target
          </label>
          <select
            id={`${id}-target`}
            className="select"
            value={target}
            onChange={(e) => onTarget(e.target.value)}
            data-testid="run-target"
          >
            <option value="">Any (the router answers)</option>
            {runKinds.map((k) => {
              const ofKind = targets.filter((s) => s.kind === k);
              if (ofKind.length === 0) return null;
              return (
                <optgroup key={k} label={`${k}s`}>
                  {ofKind.map((s) => (
                    <option key={s.name} value={s.clientId}>
                      {s.clientId} ({s.passingInstances}/{s.instances.length} passing)
                    </option>
                  ))}
                </optgroup>
              );
            })}
            {target !== "" && !registered && (
              <option value={target}>{target} (not registered)</option>
            )}
          </select>
        </div>
        <div className="field">
          <span className="field-label" id={`${id}-methods`}>
            Method
          </span>
          <div className="segmented stretch" role="tablist" aria-label="Service">
            {runKinds.map((k) => (
              <button
                key={k}
                type="button"
                role="tab"
                aria-selected={kind === k}
                onClick={() => {
                  const m = defaultMethod(k);
                  if (m !== undefined) onMethod(m);
                }}
              >
                {methodsForKind(k)[0]?.service.name ?? k}
              </button>
            ))}
          </div>
          <div className="method-list">
            {methodsForKind(kind).map((m) => (
              <button
                key={m.path}
                type="button"
                className="method-option"
                aria-pressed={m.path === method?.path}
                onClick={() => onMethod(m)}
                data-testid={`method-${m.method.name}`}
              >
                <span>
                  <strong>{m.method.name}</strong>{" "}
                  <span className="faint mono">
                    ({m.method.input.name}) → {m.streaming ? "stream " : ""}
                    {m.method.output.name}
                  </span>
                </span>
                <span className={`badge ${m.streaming ? "tone-accent" : ""}`}>
                  {m.streaming ? "stream" : "unary"}
                </span>
              </button>
            ))}
          </div>
        </div>
      </div>
    </section>
  );
}
