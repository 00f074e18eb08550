// The context every handler receives: cancellation, deadline, a logger and clients for the platform.
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Logger } from "../../platform/log";
import type { PlatformClient } from "./platform-client";

export interface ServiceContext {
  /** Aborted when the caller cancels, its deadline passes or the call ends. */
  signal: AbortSignal;
  /** Absolute deadline in ms since the epoch, or undefined for none. */
  deadlineMs: number | undefined;
  logger: Logger;
  /** Agents, tools and workers reached through the routers. */
  readonly platform: PlatformClient;
  /** Request metadata (gRPC headers). */
  requestHeader: Headers;
}

export function contextFromHandler(
  ctx: HandlerContext,
  logger: Logger,
  platform: () => PlatformClient,
): ServiceContext {
  const timeoutMs = ctx.timeoutMs();
  return {
    signal: ctx.signal,
    deadlineMs: timeoutMs === undefined ? undefined : Date.now() + timeoutMs,
    logger,
    get platform() {
      return platform();
    },
    requestHeader: ctx.requestHeader,
  };
}

/** Waits `ms`, or rejects with CANCELED as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ConnectError("cancelled", Code.Canceled));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ConnectError("cancelled", Code.Canceled));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Normalises what a handler threw: ConnectErrors pass through, an abort after the caller went
 * away is CANCELED, and anything else is a fault in the service: logged with its stack, INTERNAL.
 */
export function toConnectError(
  err: unknown,
  logger: Logger,
  what: string,
  signal?: AbortSignal,
): ConnectError {
  if (err instanceof ConnectError) return err;
  if (signal?.aborted) return new ConnectError("cancelled by the caller", Code.Canceled);
  logger.error(`${what} failed`, { err, stack: err instanceof Error ? err.stack : undefined });
  return new ConnectError(
    `${what} failed: ${err instanceof Error ? err.message : String(err)}`,
    Code.Internal,
  );
}
