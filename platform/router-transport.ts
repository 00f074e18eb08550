// A Connect transport that spreads calls over the healthy routers in the registry (client-side
// load balancing), for platform components that call other services through the routers.
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
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { ConsulClient } from "../registry/consul-client";
import { type ServiceInstance, type ServiceWatch, watchService } from "../registry/service-watch";
import type { TlsFiles } from "./tls";

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
}

export interface RouterTransport extends Transport {
  /** Healthy routers as last seen. */
  routers(): ServiceInstance[];
  readonly watch: ServiceWatch;
  close(): void;
}

export function createRouterTransport(options: RouterTransportOptions): RouterTransport {
  const service = options.service ?? routerServiceName;
  const watch = watchService(options.consul, service);
  const transports = new Map<string, Transport>();
  let next = 0;

  const transportFor = (instance: ServiceInstance): Transport => {
    const key = `${instance.address}:${instance.port}`;
    let transport = transports.get(key);
    if (!transport) {
      transport = createGrpcTransport({
        baseUrl: `${options.tls ? "https" : "http"}://${key}`,
        ...(options.tls
          ? { nodeOptions: { ca: options.tls.ca, cert: options.tls.cert, key: options.tls.key } }
          : {}),
        interceptors: options.interceptors ?? [],
        readMaxBytes: options.maxMessageBytes ?? 4 * 1024 * 1024,
        writeMaxBytes: options.maxMessageBytes ?? 4 * 1024 * 1024,
      });
      transports.set(key, transport);
    }
    return transport;
  };

  const pick = async (exclude?: ServiceInstance): Promise<ServiceInstance> => {
    await watch.ready();
    const all = watch.current().instances;
    const candidates = all.filter((i) => i !== exclude);
    const pool = candidates.length > 0 ? candidates : all;
    const chosen = pool[next++ % Math.max(pool.length, 1)];
    if (!chosen) {
      throw new ConnectError(
        `no healthy router is registered as "${service}" in the registry at ${options.consul.address}`,
        Code.Unavailable,
      );
    }
    return chosen;
  };

  return {
    watch,
    routers: () => watch.current().instances,
    close: () => watch.stop(),
    async unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: MessageInitShape<I>,
      contextValues?: ContextValues,
    ): Promise<UnaryResponse<I, O>> {
      const call = (router: ServiceInstance) => {
        contextValues?.set(chosenRouterKey, router);
        return transportFor(router).unary(method, signal, timeoutMs, header, input, contextValues);
      };
      const first = await pick();
      try {
        return await call(first);
      } catch (err) {
        // A router that is going away refuses new calls with UNAVAILABLE before running them:
        // one more try on another router is safe.
        if (ConnectError.from(err).code !== Code.Unavailable || signal?.aborted) throw err;
        return call(await pick(first));
      }
    },
    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersInit | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
      contextValues?: ContextValues,
    ): Promise<StreamResponse<I, O>> {
      const router = await pick();
      contextValues?.set(chosenRouterKey, router);
      return transportFor(router).stream(method, signal, timeoutMs, header, input, contextValues);
    },
  };
}
