// The routers as the console sees them: every "grpc-router" in the registry, asked directly
// (RouterAdmin, by address, with a short deadline) for stats, cached endpoints and Resolve,
// and compared with the registry to show where a router's cache has drifted.
import { create } from "@bufbuild/protobuf";
import { type Client, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  type CacheDrift,
  CacheDriftSchema,
  HealthStatus,
  type RouterView,
  RouterViewSchema,
  type ServiceInstance,
} from "../gen/agentplatform/v1/console_pb";
import {
  type GetEndpointsResponse,
  type ResolveResponse,
  RouterAdmin,
  type RouterStats,
} from "../gen/agentplatform/v1/router_admin_pb";
import { routerServiceName } from "../platform/router-transport";
import type { TlsFiles } from "../platform/tls";
import type { RegistryView } from "./registry-view";

export interface RouterFleetOptions {
  registry: RegistryView;
  /** Registry name of the routers. Default "grpc-router". */
  service?: string;
  /** Deadline for each RouterAdmin call, in ms. Default 1500. */
  timeoutMs?: number;
  /** Client certificate and CA for routers that require mTLS. */
  tls?: TlsFiles;
  /** E.g. one adding the gateway's token for routers that require one. */
  interceptors?: Interceptor[];
}

export interface RouterFleet {
  /** Every registered router, healthy or not. */
  instances(): ServiceInstance[];
  /** Routers whose checks all pass. */
  healthy(): ServiceInstance[];
  stats(router: ServiceInstance, signal?: AbortSignal): Promise<RouterStats>;
  list(signal?: AbortSignal): Promise<RouterView[]>;
  /** Asks one healthy router how it would route a target; undefined when there is none. */
  resolve(
    target: string,
    kind: string,
    signal?: AbortSignal,
  ): Promise<{ router: ServiceInstance; answer: ResolveResponse } | undefined>;
  close(): void;
}

export const endpointKey = (address: string, port: number) =>
  `${address.includes(":") ? `[${address}]` : address}:${port}`;

/**
 * Per service the router has cached: the registry's passing instances it lacks (missing) and
 * the instances it holds that the registry no longer lists as passing (stale), as host:port.
 * Services without drift are left out.
 */
export function cacheDrift(
  endpoints: GetEndpointsResponse,
  registryInstances: (service: string) => ServiceInstance[],
): CacheDrift[] {
  const drift: CacheDrift[] = [];
  for (const cached of endpoints.services) {
    const passing = registryInstances(cached.service).filter(
      (i) => i.status === HealthStatus.PASSING,
    );
    const registryKeys = new Map(passing.map((i) => [endpointKey(i.address, i.port), i]));
    const routerKeys = new Map(cached.endpoints.map((e) => [endpointKey(e.address, e.port), e]));
    // Named host:port, as the router's endpoints are shown.
    const missing = [...registryKeys.keys()].filter((key) => !routerKeys.has(key));
    const stale = [...routerKeys.keys()].filter((key) => !registryKeys.has(key));
    if (missing.length > 0 || stale.length > 0) {
      drift.push(create(CacheDriftSchema, { service: cached.service, missing, stale }));
    }
  }
  return drift;
}

export function createRouterFleet(options: RouterFleetOptions): RouterFleet {
  const service = options.service ?? routerServiceName;
  const timeoutMs = options.timeoutMs ?? 1500;
  const clients = new Map<
    string,
    { client: Client<typeof RouterAdmin>; sessions: Http2SessionManager }
  >();
  let next = 0;

  const clientFor = (router: ServiceInstance) => {
    const key = endpointKey(router.address, router.port);
    let entry = clients.get(key);
    if (!entry) {
      const tls = options.tls;
      const baseUrl = `${tls ? "https" : "http"}://${key}`;
      const sessions = new Http2SessionManager(
        baseUrl,
        { idleConnectionTimeoutMs: 60_000 },
        tls ? { ca: tls.ca, cert: tls.cert, key: tls.key } : undefined,
      );
      entry = {
        client: createClient(
          RouterAdmin,
          createGrpcTransport({
            baseUrl,
            sessionManager: sessions,
            interceptors: options.interceptors ?? [],
          }),
        ),
        sessions,
      };
      clients.set(key, entry);
    }
    return entry.client;
  };

  const instances = () => options.registry.instances(service);
  const healthy = () => instances().filter((i) => i.status === HealthStatus.PASSING);
  const callOptions = (signal?: AbortSignal) => ({ timeoutMs, ...(signal ? { signal } : {}) });

  const forget = () => {
    const live = new Set(instances().map((i) => endpointKey(i.address, i.port)));
    for (const [key, entry] of clients) {
      if (live.has(key)) continue;
      entry.sessions.abort();
      clients.delete(key);
    }
  };

  return {
    instances,
    healthy,
    stats: (router, signal) => clientFor(router).getRouterStats({}, callOptions(signal)),
    async list(signal) {
      forget();
      return Promise.all(
        instances().map(async (instance) => {
          const client = clientFor(instance);
          const [stats, endpoints] = await Promise.allSettled([
            client.getRouterStats({}, callOptions(signal)),
            client.getEndpoints({}, callOptions(signal)),
          ]);
          const errors = [stats, endpoints]
            .filter((r): r is PromiseRejectedResult => r.status === "rejected")
            .map((r) => ConnectError.from(r.reason).message);
          return create(RouterViewSchema, {
            instance,
            ...(stats.status === "fulfilled" ? { stats: stats.value } : {}),
            ...(endpoints.status === "fulfilled"
              ? {
                  endpoints: endpoints.value,
                  drift: cacheDrift(endpoints.value, (s) => options.registry.instances(s)),
                }
              : {}),
            error: [...new Set(errors)].join("; "),
          });
        }),
      );
    },
    async resolve(target, kind, signal) {
      const candidates = healthy();
      if (candidates.length === 0) return undefined;
      const router = candidates[next++ % candidates.length];
      if (!router) return undefined;
      const answer = await clientFor(router).resolve({ target, kind }, callOptions(signal));
      return { router, answer };
    },
    close() {
      for (const entry of clients.values()) entry.sessions.abort();
      clients.clear();
    },
  };
}
