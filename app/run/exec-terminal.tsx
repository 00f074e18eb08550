"use client";
// Command line: runs a command on a dial-in agent (ExecService.Exec through Invoke) and shows its
// output live in a terminal view, with the exit code or signal, cancel, and "copy as grpcurl".
// Admins only; the agent runs only what its own allowlist permits.
import { useId, useRef, useState } from "react";
import { useConsoleSettings } from "../../components/console-settings";
import { grpcurlCommand } from "../../components/copy-as";
import {
  createExecTranscript,
  type ExecTranscript,
  splitCommandLine,
} from "../../components/exec-transcript";
import { formatMs } from "../../components/format";
import { Icon } from "../../components/icons";
import { type InvokeState, useInvoke, useMessageCount } from "../../components/invoke-session";
import { useServices } from "../../components/services-feed";
import { roleLabel, useSession } from "../../components/session-context";
import { ExecOutputView } from "./exec-output-view";

const execMethod = "/agentplatform.v1.ExecService/Exec";

/** The transcript of the current run, fed with the messages that arrived since the last render. */
function useTranscript(invoke: InvokeState, count: number): ExecTranscript | undefined {
  const state = useRef<{ runId: string; transcript: ExecTranscript; fed: number } | undefined>(
    undefined,
  );
  const run = invoke.run;
  if (run === undefined) return undefined;
  if (state.current?.runId !== run.id) {
    state.current = { runId: run.id, transcript: createExecTranscript(), fed: 0 };
  }
  const current = state.current;
  const upTo = run.outcome === undefined ? count : run.messages.length;
  for (; current.fed < upTo; current.fed++) {
    const message = run.messages[current.fed];
    if (message !== undefined) current.transcript.add(message.json);
  }
  return current.transcript;
}

function execRequestJson(
  agentId: string,
  words: string[] | { error: string },
  workingDir: string,
  timeoutSec: number,
): string | undefined {
  if (!Array.isArray(words) || words.length === 0) return undefined;
  const [command = "", ...args] = words;
  return JSON.stringify({
    agentId,
    command,
    ...(args.length > 0 ? { args } : {}),
    ...(workingDir.trim() !== "" ? { workingDir: workingDir.trim() } : {}),
    ...(timeoutSec > 0 ? { timeoutMs: timeoutSec * 1000 } : {}),
  });
}

const formatBytes = (n: number) =>
  n < 1024
    ? `${n} B`
    : n < 1024 * 1024
      ? `${(n / 1024).toFixed(1)} KiB`
      : `${(n / 1048576).toFixed(1)} MiB`;

export function ExecTerminal() {
  const id = useId();
  const { isAdmin, session } = useSession();
  const services = useServices();
  const { frontDoorAddress } = useConsoleSettings();
  const agents = (services.data?.services ?? []).filter(
    (s) => s.kind === "agent" && s.clientId !== "",
  );
  const [chosenAgent, setAgent] = useState("");
  const agent =
    chosenAgent || (agents.find((a) => a.clientId === "nat-agent") ?? agents[0])?.clientId || "";
  const [commandLine, setCommandLine] = useState("uname -a");
  const [workingDir, setWorkingDir] = useState("");
  const [timeout, setTimeoutText] = useState("");
  const [copied, setCopied] = useState(false);
  const invoke = useInvoke();
  const count = useMessageCount(invoke.count);
  const transcript = useTranscript(invoke, count);

  const words = splitCommandLine(commandLine);
  const timeoutSec = timeout.trim() === "" ? 0 : Number(timeout);
  const timeoutValid = Number.isInteger(timeoutSec) && timeoutSec >= 0 && timeoutSec <= 3600;
  const requestJson = execRequestJson(agent, words, workingDir, timeoutSec);
  const canRun = isAdmin && agent !== "" && requestJson !== undefined && timeoutValid;

  function run() {
    if (!canRun || requestJson === undefined) return;
    // The gateway's own deadline is the backstop; the agent stops the command at its limit.
    invoke.start({ method: execMethod, requestJson, metadata: {}, timeoutMs: 0 });
  }

  const grpcurl =
    requestJson === undefined
      ? ""
      : grpcurlCommand(
          {
            method: execMethod,
            requestJson,
            metadata: {},
            timeoutMs: 0,
            streaming: true,
            withToken: session?.authEnabled === true,
          },
          frontDoorAddress,
        );

  async function copy() {
    try {
      await navigator.clipboard.writeText(grpcurl);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopied(false);
    }
  }

  const lines = transcript?.lines ?? [];
  const partial = transcript?.partial() ?? [];
  const rows = partial.length > 0 ? lines.concat(partial) : lines;

  return (
    <section className="card flush" aria-labelledby={`${id}-title`} data-testid="exec-terminal">
      <div style={{ padding: "14px 16px 12px" }}>
        <h2 id={`${id}-title`} className="card-title">
          Command line <span className="field-type">ExecService.Exec</span>
        </h2>
        <p className="muted" style={{ margin: "0 0 12px" }}>
          Runs a command on a dial-in agent, within the allowlist its operator configured.
        </p>
        {!isAdmin && (
          <p className="inline-error" role="note" data-testid="exec-forbidden">
            <Icon name="lock" /> Running commands needs the admin role; you are{" "}
            {roleLabel(session?.role ?? 0)}.
          </p>
        )}
        <form
          className="exec-form"
          style={{ display: "flex", flexWrap: "wrap", gap: 10, alignItems: "flex-end" }}
          onSubmit={(e) => {
            e.preventDefault();
            run();
          }}
        >
          <div className="field" style={{ minWidth: 160 }}>
            <label htmlFor={`${id}-agent`} className="field-label">
              Agent
            </label>
            <select
              id={`${id}-agent`}
              className="select"
              value={agent}
              onChange={(e) => setAgent(e.target.value)}
              data-testid="exec-agent"
            >
              {agents.length === 0 && <option value="">no agents</option>}
              {agents.map((a) => (
                <option key={a.name} value={a.clientId}>
                  {a.clientId}
                </option>
              ))}
            </select>
          </div>
          <div className="field" style={{ flex: "1 1 240px" }}>
            <label htmlFor={`${id}-command`} className="field-label">
              Command
            </label>
            <input
              id={`${id}-command`}
              className="input mono"
              value={commandLine}
              onChange={(e) => setCommandLine(e.target.value)}
              aria-invalid={!Array.isArray(words)}
              spellCheck={false}
              autoComplete="off"
              data-testid="exec-command"
            />
          </div>
          <div className="field" style={{ width: 160 }}>
            <label htmlFor={`${id}-cwd`} className="field-label">
              Working dir
            </label>
            <input
              id={`${id}-cwd`}
              className="input mono"
              placeholder="agent default"
              value={workingDir}
              onChange={(e) => setWorkingDir(e.target.value)}
              data-testid="exec-cwd"
            />
          </div>
          <div className="field" style={{ width: 110 }}>
            <label htmlFor={`${id}-timeout`} className="field-label">
              Timeout (s)
            </label>
            <input
              id={`${id}-timeout`}
              className="input mono"
              inputMode="numeric"
              placeholder="agent"
              value={timeout}
              onChange={(e) => setTimeoutText(e.target.value)}
              aria-invalid={!timeoutValid}
              data-testid="exec-timeout"
            />
          </div>
          <div className="form-actions" style={{ marginTop: 0 }}>
            <button
              type="submit"
              className="button primary"
              disabled={!canRun || invoke.running}
              data-testid="exec-run"
            >
              <Icon name="run" size={16} /> {invoke.running ? "Running…" : "Run"}
            </button>
            {invoke.running && (
              <button
                type="button"
                className="button danger"
                onClick={invoke.cancel}
                data-testid="exec-cancel"
              >
                <Icon name="stop" size={16} /> Cancel
              </button>
            )}
            <button
              type="button"
              className="button"
              onClick={() => void copy()}
              disabled={grpcurl === ""}
              title={grpcurl}
              data-testid="exec-copy-grpcurl"
            >
              <Icon name="copy" size={16} /> {copied ? "Copied" : "Copy as grpcurl"}
            </button>
          </div>
        </form>
        {!Array.isArray(words) && <p className="inline-error">{words.error}</p>}
      </div>
      <ExecStatusBar invoke={invoke} transcript={transcript} />
      <ExecOutputView
        lines={rows}
        count={rows.length}
        label={`Output of ${invoke.run ? "the command" : "no command yet"}`}
      />
    </section>
  );
}

function ExecStatusBar({
  invoke,
  transcript,
}: {
  invoke: InvokeState;
  transcript: ExecTranscript | undefined;
}) {
  const run = invoke.run;
  const outcome = run?.outcome;
  const end = transcript?.end;
  let badge: { tone: string; text: string };
  if (run === undefined) badge = { tone: "", text: "idle" };
  else if (outcome === undefined) badge = { tone: "tone-accent", text: "running" };
  else if (end !== undefined && end.exitCode !== undefined) {
    badge = { tone: end.exitCode === 0 ? "tone-ok" : "tone-bad", text: `exit ${end.exitCode}` };
  } else if (end !== undefined) badge = { tone: "tone-warn", text: end.signal || "killed" };
  else
    badge = { tone: outcome.code === "CANCELLED" ? "tone-warn" : "tone-bad", text: outcome.code };

  return (
    <div
      className="result-bar"
      style={{
        display: "flex",
        gap: 10,
        alignItems: "center",
        flexWrap: "wrap",
        padding: "8px 16px",
      }}
      data-testid="exec-status"
    >
      <span className={`badge ${badge.tone}`} data-testid="exec-badge" data-state={badge.text}>
        {badge.text}
      </span>
      {end !== undefined && end.reason !== "exited" && (
        <span className="badge tone-warn">{end.reason}</span>
      )}
      {end?.truncated && <span className="badge tone-warn">output cut</span>}
      {end !== undefined && (
        <span className="faint mono">
          {formatMs(end.durationMs)} · out {formatBytes(end.stdoutBytes)} · err{" "}
          {formatBytes(end.stderrBytes)}
        </span>
      )}
      {outcome !== undefined && outcome.code !== "OK" && outcome.message !== "" && (
        <span className="muted" data-testid="exec-error">
          {outcome.message}
        </span>
      )}
    </div>
  );
}
