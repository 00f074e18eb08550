"use client";
// Run: call any platform method through the gateway, with a generated form or JSON, metadata,
// a deadline, live streamed messages, cancel, history and "copy as" command lines.
import type { JsonObject } from "@bufbuild/protobuf";
import { useSearchParams } from "next/navigation";
import { type KeyboardEvent, useCallback, useEffect, useId, useMemo, useState } from "react";
import { Icon } from "../../components/icons";
import { type InvokeRun, useInvoke } from "../../components/invoke-session";
import { useLocalList } from "../../components/local-list";
import {
  findMethod,
  methodsForKind,
  type PlatformMethod,
  parseTargetKind,
  type TargetKind,
} from "../../components/platform-methods";
import { runHistory } from "../../components/run-history";
import { RunTrace } from "../../components/run-trace";
import { SchemaForm } from "../../components/schema-form";
import { canonicalJson, parseRequestText } from "../../components/schema-form-model";
import { useServices } from "../../components/services-feed";
import { roleLabel, useSession } from "../../components/session-context";
import { useSetSearchParams } from "../../components/use-search-param";
import { CopyAsPanel } from "./copy-as-panel";
import { MetadataEditor } from "./metadata-editor";
import { RunHistoryPanel } from "./run-history-panel";
import { RunResult } from "./run-result";

const kinds: TargetKind[] = ["agent", "tool", "worker"];

function defaultMethod(kind: TargetKind): PlatformMethod | undefined {
  const methods = methodsForKind(kind);
  return methods.find((m) => m.targetField !== undefined) ?? methods[0];
}

function initialRequest(method: PlatformMethod | undefined, target: string): JsonObject {
  if (method?.targetField === undefined || target === "") return {};
  return { [method.targetField.jsonName]: target };
}

export function RunView() {
  const params = useSearchParams();
  const setParams = useSetSearchParams();
  const { canInvoke, session } = useSession();
  const services = useServices();
  const id = useId();

  const target = params.get("target") ?? "";
  const registered = services.data?.services.find((s) => s.clientId === target && target !== "");
  const kind: TargetKind =
    parseTargetKind(params.get("kind")) ?? parseTargetKind(registered?.kind ?? null) ?? "agent";
  const method = findMethod(params.get("method")) ?? defaultMethod(kind);

  const [request, setRequest] = useState<JsonObject>(() => {
    const fromUrl = params.get("request");
    if (fromUrl !== null && method !== undefined) {
      const parsed = parseRequestText(method.method.input, fromUrl);
      if (parsed.ok) return parsed.value;
    }
    return initialRequest(method, target);
  });
  const [mode, setMode] = useState<"form" | "json">("form");
  const [jsonText, setJsonText] = useState("");
  const [jsonError, setJsonError] = useState<string | undefined>(undefined);
  const [metadata, setMetadata] = useState<Array<[string, string]>>([]);
  const [deadline, setDeadline] = useState("");
  const [, updateHistory] = useLocalList(runHistory);

  const onDone = useCallback(
    (run: InvokeRun) => {
      updateHistory((items) => [
        {
          id: run.id,
          atMs: run.startedAtMs,
          method: run.spec.method,
          target: targetOf(run.spec.requestJson),
          requestJson: run.spec.requestJson,
          metadata: run.spec.metadata,
          timeoutMs: run.spec.timeoutMs,
          code: run.outcome?.code ?? "UNKNOWN",
          elapsedMs: run.outcome?.elapsedMs ?? 0,
          messages: run.messages.length,
        },
        ...items.filter((i) => i.id !== run.id),
      ]);
    },
    [updateHistory],
  );
  const invoke = useInvoke(onDone);

  // Keep the request's target field in step with the chosen target.
  const targetField = method?.targetField;
  useEffect(() => {
    if (targetField === undefined || target === "") return;
    setRequest((r) =>
      r[targetField.jsonName] === target ? r : { ...r, [targetField.jsonName]: target },
    );
  }, [targetField, target]);

  const canonical = useMemo(
    () => (method === undefined ? undefined : canonicalJson(method.method.input, request)),
    [method, request],
  );
  const deadlineMs = deadline.trim() === "" ? 0 : Number(deadline);
  const deadlineValid = Number.isInteger(deadlineMs) && deadlineMs >= 0 && deadlineMs <= 3_600_000;
  const metadataRecord = Object.fromEntries(metadata.filter(([k]) => k.trim() !== ""));
  const requestValid = canonical?.ok === true && (mode === "form" || jsonError === undefined);

  function chooseTarget(next: string) {
    const service = services.data?.services.find((s) => s.clientId === next);
    const nextKind = parseTargetKind(service?.kind ?? null) ?? kind;
    const nextMethod = nextKind === method?.kind ? method : defaultMethod(nextKind);
    setParams({ target: next, kind: nextKind, method: nextMethod?.path });
  }

  function chooseMethod(next: PlatformMethod) {
    if (method !== undefined && next.method.input.typeName !== method.method.input.typeName) {
      setRequest(initialRequest(next, target));
      setJsonError(undefined);
      if (mode === "json") setJsonText("{}");
    }
    setParams({ method: next.path, kind: next.kind });
  }

  function switchMode(next: "form" | "json") {
    if (next === mode) return;
    if (next === "json") {
      setJsonText(canonical?.ok ? canonical.value : JSON.stringify(request, null, 2));
      setJsonError(undefined);
    }
    setMode(next);
  }

  function editJson(text: string) {
    setJsonText(text);
    if (method === undefined) return;
    const parsed = parseRequestText(method.method.input, text);
    if (parsed.ok) {
      setRequest(parsed.value);
      setJsonError(undefined);
    } else {
      setJsonError(parsed.error);
    }
  }

  function run() {
    if (method === undefined || canonical?.ok !== true || !deadlineValid || !canInvoke) return;
    invoke.start({
      method: method.path,
      requestJson: JSON.stringify(JSON.parse(canonical.value)),
      metadata: metadataRecord,
      timeoutMs: deadlineMs,
    });
  }

  function restore(entry: {
    method: string;
    requestJson: string;
    metadata: Record<string, string>;
    timeoutMs: number;
    target: string;
  }) {
    const restored = findMethod(entry.method);
    if (restored === undefined) return;
    const parsed = parseRequestText(restored.method.input, entry.requestJson);
    if (parsed.ok) setRequest(parsed.value);
    setJsonText(JSON.stringify(JSON.parse(entry.requestJson), null, 2));
    setJsonError(undefined);
    setMetadata(Object.entries(entry.metadata));
    setDeadline(entry.timeoutMs > 0 ? String(entry.timeoutMs) : "");
    setParams({ method: restored.path, kind: restored.kind, target: entry.target || undefined });
  }

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === "Enter" && (event.metaKey || event.ctrlKey)) {
      event.preventDefault();
      run();
    }
  }

  const targets = (services.data?.services ?? []).filter(
    (s) => s.clientId !== "" && kinds.includes(s.kind as TargetKind),
  );

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: Ctrl+Enter anywhere on the page runs the call.
    <div className="page" data-testid="run-page" onKeyDown={onKeyDown}>
      <div className="page-header">
        <div>
          <h1>Run</h1>
          <p>Call any agent, tool or worker method through the routers, as an operator.</p>
        </div>
      </div>
      {!canInvoke && (
        <div className="state" role="note" data-testid="run-forbidden">
          <p className="state-title">
            <Icon name="lock" /> Your role ({roleLabel(session?.role ?? 0)}) can look but not run.
          </p>
          <p className="state-detail">Operators and admins can run methods and start tasks.</p>
        </div>
      )}

      <div className="split">
        <div className="section">
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
                  onChange={(e) => chooseTarget(e.target.value)}
                  data-testid="run-target"
                >
                  <option value="">Any (the router answers)</option>
                  {kinds.map((k) => {
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
                  {target !== "" && registered === undefined && (
                    <option value={target}>{target} (not registered)</option>
                  )}
                </select>
              </div>
              <div className="field">
                <span className="field-label" id={`${id}-methods`}>
                  Method
                </span>
                <div className="segmented stretch" role="tablist" aria-label="Service">
                  {kinds.map((k) => (
                    <button
                      key={k}
                      type="button"
                      role="tab"
                      aria-selected={kind === k}
                      onClick={() => {
                        const m = defaultMethod(k);
                        if (m !== undefined) chooseMethod(m);
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
                      onClick={() => chooseMethod(m)}
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

          <section className="card" aria-labelledby={`${id}-request`}>
            <div className="section-header" style={{ marginBottom: 10 }}>
              <h2 id={`${id}-request`} className="card-title" style={{ margin: 0 }}>
                Request <span className="field-type">{method?.method.input.typeName}</span>
              </h2>
              <div className="segmented" role="tablist" aria-label="Request editor">
                <button
                  type="button"
                  role="tab"
                  aria-selected={mode === "form"}
                  onClick={() => switchMode("form")}
                  data-testid="mode-form"
                >
                  Form
                </button>
                <button
                  type="button"
                  role="tab"
                  aria-selected={mode === "json"}
                  onClick={() => switchMode("json")}
                  data-testid="mode-json"
                >
                  JSON
                </button>
              </div>
            </div>
            {method === undefined ? (
              <p className="muted">Choose a method.</p>
            ) : mode === "form" ? (
              <SchemaForm schema={method.method.input} value={request} onChange={setRequest} />
            ) : (
              <div className="field">
                <label htmlFor={`${id}-json`} className="visually-hidden">
                  Request JSON
                </label>
                <textarea
                  id={`${id}-json`}
                  className="textarea"
                  rows={12}
                  value={jsonText}
                  onChange={(e) => editJson(e.target.value)}
                  aria-invalid={jsonError !== undefined}
                  spellCheck={false}
                  data-testid="request-json"
                />
                {jsonError !== undefined && (
                  <span className="inline-error" role="alert">
                    {jsonError}
                  </span>
                )}
              </div>
            )}
            {mode === "form" && canonical?.ok === false && (
              <p className="inline-error" role="alert">
                {canonical.error}
              </p>
            )}

            <div className="section" style={{ marginTop: 14 }}>
              <MetadataEditor rows={metadata} onChange={setMetadata} />
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
                  onChange={(e) => setDeadline(e.target.value)}
                  aria-invalid={!deadlineValid}
                  data-testid="run-deadline"
                />
                {!deadlineValid && (
                  <span className="inline-error">
                    A whole number of milliseconds, at most one hour.
                  </span>
                )}
              </div>
              <div className="form-actions">
                <button
                  type="button"
                  className="button primary"
                  onClick={run}
                  disabled={!canInvoke || !requestValid || !deadlineValid || invoke.running}
                  data-testid="run-button"
                  title="Run (Ctrl+Enter)"
                >
                  <Icon name="run" size={16} /> {invoke.running ? "Running…" : "Run"}
                </button>
                {invoke.running && (
                  <button
                    type="button"
                    className="button danger"
                    onClick={invoke.cancel}
                    data-testid="cancel-button"
                  >
                    <Icon name="stop" size={16} /> Cancel
                  </button>
                )}
                <span className="faint hide-narrow">Ctrl+Enter runs</span>
              </div>
            </div>
          </section>

          {method !== undefined && canonical?.ok === true && (
            <CopyAsPanel
              spec={{
                method: method.path,
                requestJson: canonical.value,
                metadata: metadataRecord,
                timeoutMs: deadlineValid ? deadlineMs : 0,
                streaming: method.streaming,
                withToken: session?.authEnabled === true,
              }}
            />
          )}
        </div>

        <div className="section sticky-column">
          <RunResult invoke={invoke} streaming={method?.streaming ?? false} />
          <RunTrace run={invoke.run} />
          <RunHistoryPanel onRestore={restore} />
        </div>
      </div>
    </div>
  );
}

function targetOf(requestJson: string): string {
  try {
    const parsed: unknown = JSON.parse(requestJson);
    if (parsed === null || typeof parsed !== "object") return "";
    const record = parsed as Record<string, unknown>;
    const value = record.agentId ?? record.toolId ?? record.workerId;
    return typeof value === "string" ? value : "";
  } catch {
    return "";
  }
}
