"use client";
// Request metadata as key/value rows, sent to the router with the call.
import { Icon } from "../../components/icons";
import { RemoveButton } from "../../components/remove-button";
import { metadataProblem } from "../../gateway/metadata-rules";

/** The gateway's reason for refusing the call's metadata, or undefined when it accepts it. */
export function metadataError(rows: ReadonlyArray<readonly [string, string]>): string | undefined {
  for (const [key, value] of rows) {
    if (key.trim() === "") continue;
    const problem = metadataProblem(key, value);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

export function MetadataEditor({
  rows,
  onChange,
}: {
  rows: Array<[string, string]>;
  onChange: (rows: Array<[string, string]>) => void;
}) {
  const problems = rows.map(([k, v]) => (k.trim() === "" ? undefined : metadataProblem(k, v)));
  const first = problems.find((p) => p !== undefined);
  return (
    <fieldset className="schema-group" data-testid="metadata-editor">
      <legend>Metadata</legend>
      {rows.length === 0 && (
        <span className="field-hint">No metadata. Keys are lower-case header names.</span>
      )}
      {rows.map(([key, value], i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows are identified by position while keys are edited.
        <div key={i} className="pair-row">
          <input
            className="input mono"
            aria-label={`Metadata key ${i + 1}`}
            placeholder="x-request-id"
            value={key}
            onChange={(e) =>
              onChange(rows.map((r, j) => (j === i ? [e.target.value.toLowerCase(), r[1]] : r)))
            }
            aria-invalid={problems[i] !== undefined}
          />
          <input
            className="input mono"
            aria-label={`Metadata value ${i + 1}`}
            placeholder="value"
            value={value}
            onChange={(e) => onChange(rows.map((r, j) => (j === i ? [r[0], e.target.value] : r)))}
          />
          <RemoveButton
            label={`Remove metadata ${key || i + 1}`}
            onClick={() => onChange(rows.filter((_, j) => j !== i))}
          />
        </div>
      ))}
      {first !== undefined && (
        <span className="inline-error" data-testid="metadata-error">
          The gateway would refuse the call: {first}.
        </span>
      )}
      <div>
        <button
          type="button"
          className="button small"
          onClick={() => onChange([...rows, ["", ""]])}
        >
          <Icon name="plus" size={14} /> Add metadata
        </button>
      </div>
    </fieldset>
  );
}
