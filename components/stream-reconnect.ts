// Keeps a server stream open: reconnects with capped backoff until the signal aborts.
import { Code, ConnectError } from "@connectrpc/connect";

export type FeedState =
  | { kind: "connecting" }
  | { kind: "live" }
  | { kind: "retrying"; error: ConnectError; retryAtMs: number };

export interface ReconnectOptions {
  /** Stops the loop and the stream in flight. */
  signal: AbortSignal;
  /** Opens the stream and consumes it; calls `markLive` after the first message. */
  run: (signal: AbortSignal, markLive: () => void) => Promise<void>;
  onState: (state: FeedState) => void;
  /** First delay before reconnecting; doubles up to maxDelayMs. Default 500. */
  initialDelayMs?: number;
  /** Default 10,000. */
  maxDelayMs?: number;
  /** Errors that retrying cannot fix stop the loop. Default: UNAUTHENTICATED, PERMISSION_DENIED. */
  isFatal?: (error: ConnectError) => boolean;
}

const defaultFatal = (error: ConnectError) =>
  error.code === Code.Unauthenticated || error.code === Code.PermissionDenied;

/** Resolves when the signal aborts or a fatal error stops the loop. */
export async function keepStreaming(options: ReconnectOptions): Promise<void> {
  const { signal, run, onState } = options;
  const initialDelayMs = options.initialDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  const isFatal = options.isFatal ?? defaultFatal;
  let delayMs = initialDelayMs;
  while (!signal.aborted) {
    onState({ kind: "connecting" });
    let error: ConnectError;
    try {
      await run(signal, () => {
        delayMs = initialDelayMs;
        onState({ kind: "live" });
      });
      // A stream the server ends normally (restart, drain) is reopened like a failed one.
      error = new ConnectError("the stream ended", Code.Unavailable);
    } catch (cause) {
      error = ConnectError.from(cause);
    }
    if (signal.aborted) return;
    onState({ kind: "retrying", error, retryAtMs: Date.now() + delayMs });
    if (isFatal(error)) return;
    await sleep(delayMs, signal);
    delayMs = Math.min(delayMs * 2, maxDelayMs);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
