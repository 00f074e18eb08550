// agentplatform.v1.RouterAdmin: what a router knows about itself, for the console and operators.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  type CachedServiceSchema,
  GetEndpointsResponseSchema,
  ResolveResponseSchema,
  RouterAdmin,
  type RouterStats,
} from "../gen/agentplatform/v1/router_admin_pb";

export interface RouterIdentity {
  routerId: string;
  /** host:port clients dial. */
  address: string;
  version: string;
  startedAtMs: number;
  draining: boolean;
}

export type CachedServiceView = MessageInitShape<typeof CachedServiceSchema>;
export type ResolveAnswer = MessageInitShape<typeof ResolveResponseSchema>;

export interface RouterAdminDeps {
  /** Read on every call: the address is known only once the server listens, and draining changes. */
  identity: () => RouterIdentity;
  /** Source of counters and windowed statistics (a RouterMetrics). */
  metrics: { snapshot(windowSeconds?: number): RouterStats };
  /** The discovery cache: every service this router has resolved, with its instances. */
  cachedServices: () => CachedServiceView[];
  /** False while the registry cannot be reached. */
  registryReachable: () => boolean;
  /**
   * How a call to `target` would be routed now, without making it. `kind` is "", "agent",
   * "tool" or "worker". Throw ConnectError NOT_FOUND for an unknown target.
   */
  resolve: (target: string, kind: string) => ResolveAnswer | Promise<ResolveAnswer>;
  /** Aborting it ends every WatchRouterStats stream, so a drain does not wait for watchers. */
  shutdown?: AbortSignal;
  /** Window of the statistics in GetRouterStats and WatchRouterStats, in seconds. Default 1. */
  windowSeconds?: number;
}

/** WatchRouterStats interval when the request leaves it 0, and the shortest one allowed. */
export const defaultWatchIntervalMs = 1000;
export const minWatchIntervalMs = 250;

const kinds = new Set(["", "agent", "tool", "worker"]);

export function createRouterAdminService(deps: RouterAdminDeps): (router: ConnectRouter) => void {
  const stats = (): RouterStats => {
    const s = deps.metrics.snapshot(deps.windowSeconds ?? 1);
    const id = deps.identity();
    s.routerId = id.routerId;
    s.address = id.address;
    s.version = id.version;
    s.startedAtMs = BigInt(Math.round(id.startedAtMs));
    s.draining = id.draining;
    return s;
  };

  return (router) => {
    router.service(RouterAdmin, {
      getRouterStats: () => stats(),

      async *watchRouterStats(req, ctx) {
        const intervalMs =
          req.intervalMs === 0
            ? defaultWatchIntervalMs
            : Math.max(minWatchIntervalMs, req.intervalMs);
        const signals = deps.shutdown ? [ctx.signal, deps.shutdown] : [ctx.signal];
        while (!signals.some((s) => s.aborted)) {
          yield stats();
          await sleep(intervalMs, signals);
        }
      },

      getEndpoints: () =>
        create(GetEndpointsResponseSchema, {
          routerId: deps.identity().routerId,
          services: deps.cachedServices(),
          registryReachable: deps.registryReachable(),
        }),

      async resolve(req) {
        const target = req.target.trim();
        if (target === "") {
          throw new ConnectError("target is required", Code.InvalidArgument);
        }
        if (!kinds.has(req.kind)) {
          throw new ConnectError(
            `kind must be agent, tool or worker, got "${req.kind}"`,
            Code.InvalidArgument,
          );
        }
        return create(ResolveResponseSchema, await deps.resolve(target, req.kind));
      },
    });
  };
}

/** Waits `ms`, or less if any signal aborts; leaves no listener behind either way. */
function sleep(ms: number, signals: readonly AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const s of signals) s.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const s of signals) s.addEventListener("abort", done, { once: true });
  });
}
