// Tries discovery strategies in priority order and takes the first that answers with endpoints;
// a strategy that fails or finds nothing falls through to the next. Answers are cached briefly,
// and the last good answer is kept (marked stale) while every strategy is failing.
import { Code, ConnectError } from "@connectrpc/connect";
import type { DiscoveryStrategy, DiscoveryStrategyName, Endpoint } from "./endpoint";

export interface DiscoveryAttempt {
  strategy: DiscoveryStrategyName;
  target: string;
  /** Endpoints found; 0 with no error means the strategy had nothing. */
  found: number;
  error?: string;
}

export interface DiscoveryResult {
  /** The strategy that answered. */
  strategy: DiscoveryStrategyName;
  endpoints: Endpoint[];
  /** Every strategy tried for this answer, in order. */
  attempts: DiscoveryAttempt[];
  /** True when every strategy failed and this is the last good answer. */
  stale: boolean;
  /** When the answer was obtained, ms since the epoch. */
  resolvedAt: number;
}

export interface EndpointDiscoveryOptions {
  /** Strategies in priority order. */
  strategies: DiscoveryStrategy[];
  /** How long an answer is reused before asking again, in ms. Default 10000 (the seed's DNS TTL). */
  cacheMs?: number;
  /** Current time in ms; for tests. Default Date.now. */
  clock?: () => number;
}

export interface EndpointDiscovery {
  resolve(signal?: AbortSignal): Promise<DiscoveryResult>;
  /** Drops the cached answer so the next resolve asks again (after a connection failure). */
  invalidate(): void;
}

export function createEndpointDiscovery(options: EndpointDiscoveryOptions): EndpointDiscovery {
  const cacheMs = options.cacheMs ?? 10_000;
  const clock = options.clock ?? Date.now;
  let cached: DiscoveryResult | undefined;
  let lastGood: DiscoveryResult | undefined;
  let inflight: Promise<DiscoveryResult> | undefined;

  async function lookup(signal?: AbortSignal): Promise<DiscoveryResult> {
    const attempts: DiscoveryAttempt[] = [];
    for (const strategy of options.strategies) {
      signal?.throwIfAborted();
      try {
        const endpoints = await strategy.resolve(signal);
        attempts.push({
          strategy: strategy.name,
          target: strategy.target,
          found: endpoints.length,
        });
        if (endpoints.length > 0) {
          const result = {
            strategy: strategy.name,
            endpoints,
            attempts,
            stale: false,
            resolvedAt: clock(),
          };
          cached = result;
          lastGood = result;
          return result;
        }
      } catch (err) {
        if (signal?.aborted) throw err;
        const error = err instanceof Error ? err.message : String(err);
        attempts.push({ strategy: strategy.name, target: strategy.target, found: 0, error });
      }
    }
    if (lastGood) return { ...lastGood, attempts, stale: true };
    const tried =
      attempts.length === 0
        ? "no discovery strategy is configured"
        : attempts
            .map((a) => `${a.strategy} (${a.target}): ${a.error ?? "no endpoints"}`)
            .join("; ");
    throw new ConnectError(`no endpoints found: ${tried}`, Code.Unavailable);
  }

  return {
    resolve(signal) {
      if (cached && clock() - cached.resolvedAt < cacheMs) return Promise.resolve(cached);
      // Concurrent callers share one lookup instead of each querying DNS or the registry.
      if (!signal) {
        inflight ??= lookup().finally(() => {
          inflight = undefined;
        });
        return inflight;
      }
      return lookup(signal);
    },
    invalidate() {
      cached = undefined;
    },
  };
}
