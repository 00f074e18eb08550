"use client";
// A response message as readable JSON: string fields that carry JSON themselves (a tool's
// output, an itinerary) are pretty-printed in their own collapsible block instead of escaped.

interface Embedded {
  key: string;
  pretty: string;
}

/** The message with embedded JSON strings lifted out, each pretty-printed. */
export function splitEmbeddedJson(json: string): { main: string; embedded: Embedded[] } {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { main: json, embedded: [] };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { main: JSON.stringify(value, null, 2), embedded: [] };
  }
  const embedded: Embedded[] = [];
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [key, field] of Object.entries(copy)) {
    if (typeof field !== "string") continue;
    const text = field.trim();
    if (!(text.startsWith("{") || text.startsWith("["))) continue;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed === null || typeof parsed !== "object") continue;
      embedded.push({ key, pretty: JSON.stringify(parsed, null, 2) });
      copy[key] = `(JSON, ${text.length} characters: shown below)`;
    } catch {
      // Not JSON after all: shown as the string it is.
    }
  }
  return { main: JSON.stringify(copy, null, 2), embedded };
}

export function JsonView({
  json,
  testId,
  maxHeight,
}: {
  json: string;
  testId?: string;
  maxHeight?: number;
}) {
  const { main, embedded } = splitEmbeddedJson(json);
  return (
    <div className="section">
      <pre
        className="code-block mono"
        data-testid={testId}
        style={maxHeight ? { maxHeight } : undefined}
      >
        {main}
      </pre>
      {embedded.map((e) => (
        <details key={e.key} open className="embedded-json" data-testid={`embedded-json-${e.key}`}>
          <summary className="embedded-json-title">
            <span className="mono">{e.key}</span> <span className="muted">JSON in a string</span>
          </summary>
          <pre className="code-block mono">{e.pretty}</pre>
        </details>
      ))}
    </div>
  );
}
