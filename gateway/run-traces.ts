// The spans of runs the console started, kept in memory for the Run page: the gateway watches
// the trace id of each ConsoleService.Invoke and keeps what its OTLP ingest receives for those
// traces only. Bounded: the newest `maxTraces` runs, `maxSpansPerTrace` spans each.
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  decodeJsonExport,
  type JsonExport,
  type ReceivedSpan,
} from "../platform/tracing/otlp-json";

export interface RunTraceStoreOptions {
  /** Runs whose spans are kept; the oldest is forgotten first. Default 200. */
  maxTraces?: number;
  /** Spans kept per run; later ones are dropped. Default 200. */
  maxSpansPerTrace?: number;
}

export interface RunTraceStore {
  /** Keep spans of this trace from now on. */
  watch(traceId: string): void;
  /** Spans of a watched trace (maybe none yet), or undefined when it is not (or no longer) kept. */
  get(traceId: string): readonly ReceivedSpan[] | undefined;
  /** Keeps the spans that belong to watched traces; returns how many were kept. */
  add(spans: readonly ReceivedSpan[]): number;
}

const traceIdPattern = /^[0-9a-f]{32}$/;

export function isTraceId(value: string): boolean {
  return traceIdPattern.test(value) && value !== "0".repeat(32);
}

export function createRunTraceStore(options: RunTraceStoreOptions = {}): RunTraceStore {
  const maxTraces = options.maxTraces ?? 200;
  const maxSpans = options.maxSpansPerTrace ?? 200;
  // Insertion order is age: the first key is the oldest run.
  const traces = new Map<string, ReceivedSpan[]>();
  return {
    watch(traceId) {
      if (!isTraceId(traceId) || traces.has(traceId)) return;
      traces.set(traceId, []);
      while (traces.size > maxTraces) {
        const oldest = traces.keys().next().value;
        if (oldest === undefined) break;
        traces.delete(oldest);
      }
    },
    get: (traceId) => traces.get(traceId),
    add(spans) {
      let kept = 0;
      for (const span of spans) {
        const list = traces.get(span.traceId);
        if (list === undefined || list.length >= maxSpans) continue;
        if (list.some((s) => s.spanId === span.spanId)) continue;
        list.push(span);
        kept++;
      }
      return kept;
    },
  };
}

const maxIngestBytes = 4 * 1024 * 1024;

/**
 * POST /v1/traces (OTLP/HTTP, JSON encoding): what the processes export when their
 * OTEL_EXPORTER_OTLP_ENDPOINT points here (or a collector fans out to here). Protobuf is
 * refused with 415: export with OTEL_EXPORTER_OTLP_PROTOCOL=http/json.
 */
export function otlpIngestHandler(store: RunTraceStore) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const type = req.headers["content-type"] ?? "";
    if (!type.startsWith("application/json")) {
      res.writeHead(415, { "content-type": "text/plain; charset=utf-8" });
      res.end("send OTLP/HTTP in JSON (OTEL_EXPORTER_OTLP_PROTOCOL=http/json)\n");
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxIngestBytes) {
        refused = true;
        res.writeHead(413, { "content-type": "text/plain; charset=utf-8" });
        res.end(`export larger than ${maxIngestBytes} bytes\n`);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (refused) return;
      try {
        store.add(
          decodeJsonExport(JSON.parse(Buffer.concat(chunks).toString("utf8")) as JsonExport),
        );
      } catch {
        res.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
        res.end("not an OTLP JSON trace export\n");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
  };
}
