"use client";
// Runs one platform call through ConsoleService.Invoke and collects its events. Messages go into
// a plain array and the view is told at most ten times a second, so 10,000 messages stay cheap.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from "react";
import { ConsoleService } from "../gen/agentplatform/v1/console_pb";
import { codeName } from "./error-text";
import { newRunTraceContext } from "./trace-context";

export interface InvokeSpec {
  method: string;
  requestJson: string;
  metadata: Record<string, string>;
  timeoutMs: number;
}

export interface ReceivedMessage {
  index: number;
  /** Milliseconds since the call started, as the gateway measured it. */
  elapsedMs: number;
  receivedAtMs: number;
  json: string;
}

export interface InvokeOutcome {
  /** gRPC code name, "OK" on success. */
  code: string;
  message: string;
  trailers: Record<string, string>;
  elapsedMs: number;
  /** "target" when the called method answered, "gateway" when Invoke itself failed. */
  source: "target" | "gateway" | "console";
}

export interface InvokeRun {
  id: string;
  spec: InvokeSpec;
  startedAtMs: number;
  /** The trace the console started for this run (its traceparent went with the call). */
  traceId: string;
  headers: Record<string, string>;
  router: string;
  /** Grows while the call runs; read `count` entries. */
  messages: ReceivedMessage[];
  outcome: InvokeOutcome | undefined;
}

/** How many messages are visible now; changes at most every `flushMs`. */
export interface MessageCount {
  get: () => number;
  subscribe: (listener: () => void) => () => void;
}

/** Only the components that show messages re-render as they arrive, not the whole page. */
export function useMessageCount(count: MessageCount): number {
  return useSyncExternalStore(count.subscribe, count.get, serverCount);
}

const serverCount = () => 0;

function createMessageCount() {
  let value = 0;
  const listeners = new Set<() => void>();
  return {
    get: () => value,
    set(next: number) {
      if (next === value) return;
      value = next;
      for (const l of listeners) l();
    },
    subscribe(listener: () => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export interface InvokeState {
  run: InvokeRun | undefined;
  count: MessageCount;
  running: boolean;
  start: (spec: InvokeSpec) => void;
  cancel: () => void;
}

/** How often the message list learns about new messages while a stream runs. */
const flushMs = 100;

export function useInvoke(onDone?: (run: InvokeRun) => void): InvokeState {
  const transport = useTransport();
  const [run, setRun] = useState<InvokeRun | undefined>(undefined);
  const [count] = useState(createMessageCount);
  const setCount = count.set;
  const [running, setRunning] = useState(false);
  const abortRef = useRef<AbortController | undefined>(undefined);
  const frame = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const onDoneRef = useRef(onDone);
  onDoneRef.current = onDone;

  useEffect(() => () => abortRef.current?.abort(), []);

  const start = useCallback(
    (spec: InvokeSpec) => {
      abortRef.current?.abort();
      const abort = new AbortController();
      abortRef.current = abort;
      const trace = newRunTraceContext();
      const current: InvokeRun = {
        id: `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`,
        spec,
        startedAtMs: Date.now(),
        traceId: trace.traceId,
        headers: {},
        router: "",
        messages: [],
        outcome: undefined,
      };
      setRun(current);
      setCount(0);
      setRunning(true);

      const flush = () => {
        frame.current = undefined;
        setCount(current.messages.length);
      };
      const schedule = () => {
        if (frame.current !== undefined) return;
        // The first message shows at once; after that, batches keep rendering off the hot path.
        frame.current = setTimeout(flush, current.messages.length === 1 ? 0 : flushMs);
      };
      const finish = (outcome: InvokeOutcome) => {
        if (current.outcome !== undefined) return;
        current.outcome = outcome;
        clearTimeout(frame.current);
        frame.current = undefined;
        setCount(current.messages.length);
        setRun({ ...current });
        if (abortRef.current === abort) setRunning(false);
        onDoneRef.current?.(current);
      };

      const client = createClient(ConsoleService, transport);
      void (async () => {
        try {
          for await (const event of client.invoke(
            {
              method: spec.method,
              requestJson: spec.requestJson,
              metadata: spec.metadata,
              timeoutMs: spec.timeoutMs,
            },
            { signal: abort.signal, headers: { traceparent: trace.traceparent } },
          )) {
            switch (event.event.case) {
              case "headers":
                current.headers = event.event.value.headers;
                current.router = event.event.value.router;
                setRun({ ...current });
                break;
              case "message":
                current.messages.push({
                  index: event.event.value.index,
                  elapsedMs: event.event.value.elapsedMs,
                  receivedAtMs: Date.now(),
                  json: event.event.value.json,
                });
                schedule();
                break;
              case "result":
                finish({
                  code: event.event.value.code || "OK",
                  message: event.event.value.message,
                  trailers: event.event.value.trailers,
                  elapsedMs: event.event.value.elapsedMs,
                  source: "target",
                });
                break;
            }
          }
          finish({
            code: "UNKNOWN",
            message: "The gateway ended the call without a result.",
            trailers: {},
            elapsedMs: Date.now() - current.startedAtMs,
            source: "gateway",
          });
        } catch (cause) {
          const error = ConnectError.from(cause);
          const cancelled = abort.signal.aborted && error.code === Code.Canceled;
          finish({
            code: codeName(error.code),
            message: cancelled ? "Cancelled in the console." : error.rawMessage,
            trailers: {},
            elapsedMs: Date.now() - current.startedAtMs,
            source: cancelled ? "console" : "gateway",
          });
        }
      })();
    },
    [transport, setCount],
  );

  const cancel = useCallback(() => abortRef.current?.abort(), []);

  return { run, count, running, start, cancel };
}
