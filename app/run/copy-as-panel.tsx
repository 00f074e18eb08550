"use client";
// "Copy as": the current call as curl, buf curl or grpcurl, ready to paste into a terminal.
import { useState } from "react";
import { useConsoleSettings } from "../../components/console-settings";
import {
  bufCurlCommand,
  type CallSpec,
  curlCommand,
  grpcurlCommand,
} from "../../components/copy-as";
import { Icon } from "../../components/icons";

const formats = [
  { id: "curl", label: "curl", note: "Connect protocol against the gateway's browser endpoint." },
  {
    id: "buf",
    label: "buf curl",
    note: "gRPC against the front door; the schema comes from its server reflection.",
  },
  {
    id: "grpcurl",
    label: "grpcurl",
    note: "gRPC against the front door; the schema comes from its server reflection.",
  },
] as const;

type Format = (typeof formats)[number]["id"];

export function CopyAsPanel({ spec }: { spec: CallSpec }) {
  const { gatewayUrl, frontDoorAddress } = useConsoleSettings();
  const [format, setFormat] = useState<Format>("curl");
  const [copied, setCopied] = useState<Format | undefined>(undefined);
  const [localSchema, setLocalSchema] = useState(false);
  const command =
    format === "curl"
      ? curlCommand(spec, gatewayUrl)
      : format === "buf"
        ? bufCurlCommand(spec, frontDoorAddress, { localSchema })
        : grpcurlCommand(spec, frontDoorAddress, { localSchema });
  const note = formats.find((f) => f.id === format)?.note;

  async function copy() {
    try {
      await navigator.clipboard.writeText(command);
      setCopied(format);
      setTimeout(() => setCopied(undefined), 1500);
    } catch {
      // Clipboard access can be refused (no HTTPS, no permission): the command stays selectable.
      setCopied(undefined);
    }
  }

  return (
    <section className="card flush" aria-label="Copy as command">
      <div className="card-header" style={{ paddingBottom: 0, borderBottom: 0 }}>
        <h2 className="card-title">Copy as</h2>
        <button type="button" className="button small" onClick={copy} data-testid="copy-command">
          <Icon name="copy" size={14} /> {copied === format ? "Copied" : "Copy"}
        </button>
      </div>
      <div
        className="tabs"
        role="tablist"
        aria-label="Command format"
        style={{ padding: "0 10px" }}
      >
        {formats.map((f) => (
          <button
            key={f.id}
            type="button"
            role="tab"
            className="tab"
            aria-selected={format === f.id}
            onClick={() => setFormat(f.id)}
            data-testid={`copy-as-${f.id}`}
          >
            {f.label}
          </button>
        ))}
      </div>
      <div className="card-body section">
        <pre className="code-block mono" data-testid="copy-as-command">
          {command}
        </pre>
        <span className="field-hint">
          {note}
          {spec.timeoutMs > 0 && " The deadline is included."}
          {spec.withToken && " Set AGENTPLATFORM_TOKEN to your token first."}
        </span>
        {format !== "curl" && (
          <label className="check-row">
            <input
              type="checkbox"
              checked={localSchema}
              onChange={(e) => setLocalSchema(e.target.checked)}
              data-testid="copy-as-local-schema"
            />
            Use the repository's proto/ instead (run from its root)
          </label>
        )}
      </div>
    </section>
  );
}
