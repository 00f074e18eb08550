"use client";
// Request metadata as key/value rows, sent to the router with the call.
import { Icon } from "../../components/icons";
import { RemoveButton } from "../../components/remove-button";

const reserved = /^(grpc-|:|content-type$|te$|authorization$|connect-)/i;

export function MetadataEditor({
  rows,
  onChange,
}: {
  rows: Array<[string, string]>;
  onChange: (rows: Array<[string, string]>) => void;
}) {
  const invalid = rows.filter(
    ([k]) => k !== "" && (!/^[a-z0-9_.-]+$/i.test(k) || reserved.test(k)),
  );
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
            aria-invalid={invalid.some(([k]) => k === key)}
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
      {invalid.length > 0 && (
        <span className="inline-error">
          {invalid.map(([k]) => k).join(", ")}: reserved or not a valid header name; the gateway
          drops it.
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
