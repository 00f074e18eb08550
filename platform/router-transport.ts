// A Connect transport that spreads calls over the routers (client-side load balancing), for
// platform components that call other services through the routers. The routers come from the
// registry (healthy "grpc-router" instances) or from discovery strategies (static list, load
// balancer, DNS A/SRV); a call a router provably did not process is sent once more to another.
import type {
  DescMessage,
  DescMethodStreaming,
  DescMethodUnary,
  MessageInitShape,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextKey,
  type Interceptor,
  type StreamResponse,
  type Transport,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { ConsulClient } from "../registry/consul-client";
import { type ServiceInstance, type ServiceWatch, watchService } from "../registry/service-watch";
import { formatEndpoint } from "./discovery/endpoint";
import type { EndpointDiscovery } from "./discovery/endpoint-discovery";
import type { TlsFiles } from "./tls";
import { clientTracingInterceptor } from "./tracing/rpc-interceptors";
import { callWasNotProcessed } from "./unprocessed-call";

export const routerServiceName = "grpc-router";

/**
 * Set on the call's context values to the router that took the call (the last one tried),
 * so callers that pass their own ContextValues can report where a call went.
 */
export const chosenRouterKey = createContextKey<ServiceInstance | undefined>(undefined, {
  description: "router chosen for the call",
});

export interface RouterTransportOptions {
  consul: ConsulClient;
  /** Registry service the routers register as. Default "grpc-router". */
  service?: string;
  /** Client certificate and CA for routers that require mTLS. */
  tls?: TlsFiles;
  interceptors?: Interceptor[];
  /** Largest message to send or accept. Default 4 MiB. */
  maxMessageBytes?: number;
  /**
   * Where the routers are found (platform/discovery: static list, load balancer, DNS SRV/A,
   * Consul). Default: a watch of `service` in the registry at `consul`.
   */
  discovery?: EndpointDiscovery;
  /** How long a router that refused a call is passed over while others remain. Default 3000 ms. */
  refusedRouterCooldownMs?: number;
  /**
   * With the registry, how long a call waits for a router when none is known (the registry may
   * be a moment ahead of the last answer, e.g. just after start). Default 1000 ms.
   */
  noRouterWaitMs?: number;
}

export interface RouterTransport extends Transport {
  /** Routers as last seen. */
  routers(): ServiceInstance[];
  /** The registry watch; undefined when the routers come from `discovery`. */
  readonly watch: ServiceWatch | undefined;
  close(): void;
}

/** Where the routers come from: the registry, or discovery strategies. */
interface RouterSource {
  /** Current routers, waiting for the first answer. */
  resolve(signal?: AbortSignal): Promise<ServiceInstance[]>;
  /** Routers as last seen, without waiting. */
  current(): ServiceInstance[];
  /** A router refused a connection: ask again soon. */
  refused(): void;
  /** For error messages. */
  describe(): string;
  close(): void;
}

/** Resolves with the watch's routers once there are some, or after waitMs with none. */
function routersWithin(
  watch: ServiceWatch,
  waitMs: number,
  signal: AbortSignal | undefined,
): Promise<ServiceInstance[]> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      unsubscribe();
      signal?.removeEventListener("abort", done);
      resolve(watch.current().instances);
    };
    const timer = setTimeout(done, waitMs);
    const unsubscribe = watch.subscribe((snapshot) => {
      if (snapshot.instances.length > 0) done();
    });
    signal?.addEventListener("abort", done, { once: true });
    watch.refresh();
  });
}

function registrySource(
  watch: ServiceWatch,
  consul: ConsulClient,
  noRouterWaitMs: number,
): RouterSource {
  return {
    async resolve(signal) {
      await watch.ready();
      const routers = watch.current().instances;
      if (routers.length > 0 || noRouterWaitMs <= 0 || signal?.aborted) return routers;
      return routersWithin(watch, noRouterWaitMs, signal);
    },
    current: () => watch.current().instances,
    refused: () => watch.refresh(),
    describe: () => `registered as "${watch.service}" in the registry at ${consul.address}`,
    close: () => watch.stop(),
  };
}

function discoverySource(discovery: EndpointDiscovery, service: string): RouterSource {
  let last: ServiceInstance[] = [];
  return {
    async resolve() {
      const result = await discovery.resolve();
      last = result.endpoints.map((endpoint) => ({
        id: formatEndpoint(endpoint),
        service,
        address: endpoint.host,
        port: endpoint.port,
        tags: [],
        meta: { discovery: result.strategy },
      }));
      return last;
    },
    current: () => last,
    refused: () => discovery.invalidate(),
    describe: () => "found by discovery",
    close() {},
  };
}

const keyOf = (router: ServiceInstance) =>
  formatEndpoint({ host: router.address, port: router.port });

export function createRouterTransport(options: RouterTransportOptions): RouterTransport {
  const service = options.service ?? routerServiceName;
  let watch: ServiceWatch | undefined;
  let source: RouterSource;
  if (options.discovery) {
    source = discoverySource(options.discovery, service);
  } else {
    watch = watchService(options.consul, service);
    source = registrySource(watch, options.consul, options.noRouterWaitMs ?? 1000);
  }
  const cooldownMs = options.refusedRouterCooldownMs ?? 3000;
  const maxBytes = options.maxMessageBytes ?? 4 * 1024 * 1024;
  const transports = new Map<string, { transport: Transport; sessions: Http2SessionManager }>();
  /** Router key -> time until which it is passed over. */
  const refusedUntil = new Map<string, number>();
  let next = 0;

  const transportFor = (router: ServiceInstance): Transport => {
    const key = keyOf(router);
    let entry = transports.get(key);
    if (!entry) {
      const baseUrl = `${options.tls ? "https" : "http"}://${key}`;
      const sessions = new Http2SessionManager(
        baseUrl,
        // Connections to routers that left the list close on their own once idle.
        { idleConnectionTimeoutMs: 60_000 },
        options.tls
          ? { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key }
          : undefined,
      );
      const transport = createGrpcTransport({
        baseUrl,
        sessionManager: sessions,
        interceptors: [clientTracingInterceptor(), ...(options.interceptors ?? [])],
        readMaxBytes: maxBytes,
        writeMaxBytes: maxBytes,
      });
      entry = { transport, sessions };
      transports.set(key, entry);
    }
    return entry.transport;
  };

  /** Drops clients of routers no longer listed (in-flight calls on them carry on). */
  const forgetRoutersBut = (listed: readonly ServiceInstance[]) => {
    const keep = new Set(listed.map(keyOf));
    for (const key of transports.keys()) if (!keep.has(key)) transports.delete(key);
    for (const key of refusedUntil.keys()) if (!keep.has(key)) refusedUntil.delete(key);
  };

  const pick = async (
    tried: readonly ServiceInstance[],
    signal: AbortSignal | undefined,
  ): Promise<ServiceInstance> => {
    const all = await source.resolve(signal);
    if (transports.size > all.length + 8) forgetRoutersBut(all);
    const now = Date.now();
    const untried = all.filter((r) => !tried.some((t) => keyOf(t) === keyOf(r)));
    const willing = untried.filter((r) => (refusedUntil.get(keyOf(r)) ?? 0) <= now);
    const pool = willing.length > 0 ? willing : untried.length > 0 ? untried : all;
    const chosen = pool[next++ % Math.max(pool.length, 1)];
    if (!chosen) {
      throw new ConnectError(`no healthy router is ${source.describe()}`, Code.Unavailable);
    }
    return chosen;
  };

  const noteRefusal = (router: ServiceInstance) => {
    refusedUntil.set(keyOf(router), Date.now() + cooldownMs);
    source.refused();
  };

  /**
   * Runs `attempt` on one router and, when that router provably did not process the call
   * (connection refused, stream refused, session closed by GOAWAY), once more on another.
   */
  async function withOneRetry<R>(
    signal: AbortSignal | undefined,
    contextValues: ContextValues | undefined,
    attempt: (router: ServiceInstance) => Promise<R>,
  ): Promise<R> {
    const first = await pick([], signal);
    contextValues?.set(chosenRouterKey, first);
    try {
      return await attempt(first);
    } catch (err) {
      if (signal?.aborted || !callWasNotProcessed(err)) throw err;
      noteRefusal(first);
      const second = await pick([first], signal);
      contextValues?.set(chosenRouterKey, second);
      return attempt(second);
    }
  }

  return {
    watch,
    routers: () => source.current(),
    close() {
      source.close();
      for (const { sessions } of transports.values()) sessions.abort();
      transports.clear();
    },
    unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      return withOneRetry(signal, contextValues, (router) =>
        transportFor(router).unary(method, signal, timeoutMs, header, input, contextValues),
      );
    },
    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      if (method.methodKind !== "server_streaming") {
        // The request stream is consumed as it is sent: it cannot be sent twice.
        const router = await pick([], signal);
        contextValues?.set(chosenRouterKey, router);
        return transportFor(router).stream(method, signal, timeoutMs, header, input, contextValues);
      }
      // One request message: keep it so a refused call can send it again. The stream resolves
      // once the router answers with headers, so a failure before that means no message came.
      const messages: MessageInitShape<I>[] = [];
      for await (const message of input) messages.push(message);
      return withOneRetry(signal, contextValues, (router) =>
        transportFor(router).stream(
          method,
          signal,
          timeoutMs,
          header,
          createAsyncIterable(messages),
          contextValues,
        ),
      );
    },
  };
}
