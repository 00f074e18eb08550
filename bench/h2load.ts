// Runs h2load against one target and reads its summary and per-request log.
import { execFile } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { grpcRequestHeaders } from "./request-frame";

export interface LoadSpec {
  /** http://host:port/path (h2c with prior knowledge). */
  url: string;
  /** File holding the request body (a gRPC frame). */
  bodyFile: string;
  connections: number;
  /** Concurrent streams per connection. */
  streams: number;
  /** Measured seconds, after the warm-up. */
  durationSeconds: number;
  warmUpSeconds: number;
  /** Where h2load writes its per-request log (removed after reading). */
  logFile: string;
}

export interface LoadResult {
  requestsPerSecond: number;
  /** Requests completed in the measured period. */
  done: number;
  succeeded: number;
  /** failed + errored + timed out. */
  unsuccessful: number;
  /** Responses with a status other than 2xx, warm-up included. */
  non2xx: number;
  p50Ms: number;
  p99Ms: number;
}

export function runH2load(spec: LoadSpec): Promise<LoadResult> {
  const args = [
    `--clients=${spec.connections}`,
    `--max-concurrent-streams=${spec.streams}`,
    "--threads=1",
    `--duration=${spec.durationSeconds}`,
    `--warm-up-time=${spec.warmUpSeconds}`,
    `--data=${spec.bodyFile}`,
    ...grpcRequestHeaders.flatMap((h) => ["--header", h]),
    `--log-file=${spec.logFile}`,
    spec.url,
  ];
  const limitMs = (spec.durationSeconds + spec.warmUpSeconds + 30) * 1000;
  return new Promise((resolve, reject) => {
    execFile("h2load", args, { timeout: limitMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => {
      if (err) return reject(new Error(`h2load failed: ${err.message}\n${stdout}`));
      try {
        resolve(parseH2load(stdout, readFileSync(spec.logFile, "utf8")));
      } catch (parseErr) {
        reject(parseErr);
      } finally {
        rmSync(spec.logFile, { force: true });
      }
    });
  });
}

/** Reads h2load's summary lines and its log (start µs, HTTP status, µs to the end of the response). */
export function parseH2load(summary: string, log: string): LoadResult {
  const finished = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(summary);
  const requests =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      summary,
    );
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(summary);
  if (!finished || !requests || !codes) throw new Error(`unexpected h2load output:\n${summary}`);
  const n = (s: string | undefined) => Number(s ?? 0);

  const latencies: number[] = [];
  for (const line of log.split("\n")) {
    const [, status, micros] = line.split("\t");
    if (status === undefined || micros === undefined) continue;
    latencies.push(Number(micros) / 1000);
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies.length === 0
      ? 0
      : (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);

  return {
    requestsPerSecond: n(finished[1]),
    done: n(requests[3]),
    succeeded: n(requests[4]),
    unsuccessful: n(requests[5]) + n(requests[6]) + n(requests[7]),
    non2xx: n(codes[2]) + n(codes[3]) + n(codes[4]),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}
