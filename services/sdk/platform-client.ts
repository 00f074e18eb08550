// Clients for the platform's public services, reached through the routers like any other caller.
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { AgentService, TaskWorker, ToolService } from "../../gen/agentplatform/v1/platform_pb";
import type { ConsulClient } from "../../platform/consul/consul-client";
import type { EndpointDiscovery } from "../../platform/discovery/endpoint-discovery";
import { createRouterTransport, type RouterTransport } from "../../platform/router-transport";
import type { TlsFiles } from "../../platform/tls";

export interface PlatformClient {
  agents: Client<typeof AgentService>;
  tools: Client<typeof ToolService>;
  workers: Client<typeof TaskWorker>;
}

/** Clients over any transport (tests hand in a direct one). */
export function createPlatformClient(transport: Transport): PlatformClient {
  return {
    agents: createClient(AgentService, transport),
    tools: createClient(ToolService, transport),
    workers: createClient(TaskWorker, transport),
  };
}

export interface LazyPlatformClient {
  /** Built on first use, so services that never call out never watch the routers. */
  get(): PlatformClient;
  close(): void;
}

/** A platform client over the healthy routers in the registry, created when first asked for. */
export function createLazyPlatformClient(options: {
  consul: ConsulClient;
  /** Client certificate and CA for routers that require (m)TLS. */
  tls?: TlsFiles;
  maxMessageBytes?: number;
  /** Interceptors for every call, e.g. the service token. Default none. */
  interceptors?: Interceptor[];
  /** Where the routers are found. Default: the registry. */
  discovery?: () => EndpointDiscovery;
}): LazyPlatformClient {
  let transport: RouterTransport | undefined;
  let client: PlatformClient | undefined;
  return {
    get() {
      if (!client) {
        transport = createRouterTransport({
          consul: options.consul,
          ...(options.tls ? { tls: options.tls } : {}),
          ...(options.maxMessageBytes ? { maxMessageBytes: options.maxMessageBytes } : {}),
          ...(options.interceptors ? { interceptors: options.interceptors } : {}),
          ...(options.discovery ? { discovery: options.discovery() } : {}),
        });
        client = createPlatformClient(transport);
      }
      return client;
    },
    close() {
      transport?.close();
    },
  };
}
