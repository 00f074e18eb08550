// Calls made from the Run page, newest first, kept in localStorage so they survive reloads.
import { createLocalList, isRecord, stringRecord } from "./local-list";

export interface RunHistoryEntry {
  id: string;
  atMs: number;
  method: string;
  target: string;
  requestJson: string;
  metadata: Record<string, string>;
  timeoutMs: number;
  code: string;
  elapsedMs: number;
  messages: number;
}

function parseEntry(value: unknown): RunHistoryEntry | undefined {
  if (!isRecord(value)) return undefined;
  const { id, atMs, method, target, requestJson, timeoutMs, code, elapsedMs, messages } = value;
  if (typeof id !== "string" || typeof method !== "string" || typeof requestJson !== "string") {
    return undefined;
  }
  return {
    id,
    atMs: typeof atMs === "number" ? atMs : 0,
    method,
    target: typeof target === "string" ? target : "",
    requestJson,
    metadata: stringRecord(value.metadata),
    timeoutMs: typeof timeoutMs === "number" ? timeoutMs : 0,
    code: typeof code === "string" ? code : "UNKNOWN",
    elapsedMs: typeof elapsedMs === "number" ? elapsedMs : 0,
    messages: typeof messages === "number" ? messages : 0,
  };
}

export const runHistory = createLocalList("agentplatform.console.run-history", 50, parseEntry);
