// A local OTLP/HTTP trace receiver for tests and benchmarks: accepts POST /v1/traces in JSON
// (decoded into spans) or protobuf (counted, not decoded), answers 200 with an empty export
// response, and holds what it decoded for assertions.
import { createServer, type IncomingMessage } from "node:http";
import { listen } from "../../listen";
import { decodeJsonExport, type JsonExport, type ReceivedSpan } from "../otlp-json";

export type { ReceivedSpan } from "../otlp-json";

export interface OtlpReceiver {
  /** http://127.0.0.1:port — the value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** Export requests taken, JSON and protobuf. */
  requests(): number;
  /** Bytes of protobuf exports taken (they are not decoded). */
  protobufBytes(): number;
  close(): Promise<void>;
}

const maxBodyBytes = 32 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  let requests = 0;
  let protobufBytes = 0;
  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.writeHead(404).end();
        return;
      }
      const body = await readBody(req);
      if (body === undefined) {
        res.writeHead(413).end();
        return;
      }
      requests++;
      const type = req.headers["content-type"] ?? "";
      if (type.startsWith("application/json")) {
        try {
          spans.push(...decodeJsonExport(JSON.parse(body.toString("utf8")) as JsonExport));
        } catch {
          res.writeHead(400).end();
          return;
        }
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
        return;
      }
      protobufBytes += body.length;
      // An empty ExportTraceServiceResponse.
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    })().catch(() => res.destroy());
  });
  const port = await listen(server, 0, "127.0.0.1");
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    requests: () => requests,
    protobufBytes: () => protobufBytes,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
