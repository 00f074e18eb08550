// The calls a router answers itself from the registry: ListAgents, ListTools, ListWorkers and
// GetStatus (of the router, or of one agent).
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  AgentInfoSchema,
  AgentService,
  type BackendStatus,
  BackendStatusSchema,
  ListAgentsResponseSchema,
  ListToolsResponseSchema,
  ListWorkersResponseSchema,
  ServingState,
  type StatusResponse,
  StatusResponseSchema,
  TaskWorker,
  ToolInfoSchema,
  ToolService,
  WorkerInfoSchema,
} from "../gen/agentplatform/v1/platform_pb";
import type { ConsulClient } from "../platform/consul/consul-client";
import { type ServiceInstance, toInstance } from "../platform/consul/service-watch";
import type { EndpointDirectory, ServiceView } from "./endpoint-directory";
import { clientIdFor, type ServiceKind, serviceNameFor } from "./routed-methods";

export interface CatalogServiceDeps {
  consul: ConsulClient;
  directory: EndpointDirectory;
  routerId: string;
  version: string;
  startedAtMs: number;
  address: () => string;
  balancer: string;
  draining: () => boolean;
  /** Calls in progress on the router. */
  activeCalls: () => number;
  /** Dial-in links held by this router. */
  linkCount: () => number;
}

/** What the registry says about one service, for listings. */
interface ServiceSummary {
  service: string;
  meta: Record<string, string>;
  endpoint: string;
  healthy: number;
  stale: boolean;
}

const splitList = (value: string | undefined): string[] =>
  (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

const endpointOf = (i: ServiceInstance) => `${i.address}:${i.port}`;

export function createCatalogService(deps: CatalogServiceDeps): (router: ConnectRouter) => void {
  const { directory, consul } = deps;

  const registryUnavailable = (err: unknown) =>
    new ConnectError(
      `registry ${consul.address} unreachable and nothing cached: ${err instanceof Error ? err.message : String(err)}`,
      Code.Unavailable,
    );

  /** Services registered with a tag, with their healthy instances (watched from then on). */
  const summaries = async (kind: ServiceKind): Promise<ServiceSummary[]> => {
    let services: Record<string, string[]>;
    try {
      services = (await directory.catalog()).services;
    } catch (err) {
      throw registryUnavailable(err);
    }
    const names = Object.keys(services)
      .filter((name) => services[name]?.includes(kind))
      .sort();
    return Promise.all(
      names.map(async (service): Promise<ServiceSummary> => {
        const view = await directory.view(service);
        const first = view.instances[0];
        let meta = first?.meta ?? {};
        if (!first) {
          // Nothing healthy: read the registration itself for its description.
          try {
            const entries = (await consul.healthService(service)).value;
            const any = entries[0];
            if (any) meta = toInstance(any).meta;
          } catch {
            // Listing without a description beats failing the whole list.
          }
        }
        return {
          service,
          meta,
          endpoint: first ? endpointOf(first) : "",
          healthy: view.instances.length,
          stale: view.stale,
        };
      }),
    );
  };

  const backendStatus = (view: ServiceView, total: number): BackendStatus =>
    create(BackendStatusSchema, {
      service: view.service,
      healthyInstances: view.instances.length,
      totalInstances: Math.max(total, view.instances.length),
      stale: view.stale,
    });

  const totalInstances = async (service: string): Promise<number> => {
    try {
      return (await consul.healthService(service)).value.length;
    } catch {
      return 0;
    }
  };

  const routerStatus = async (): Promise<StatusResponse> => {
    let routed: string[] = [];
    let catalogStale = false;
    try {
      const catalog = await directory.catalog();
      catalogStale = catalog.stale;
      routed = Object.entries(catalog.services)
        .filter(([, tags]) => tags.some((t) => t === "agent" || t === "tool" || t === "worker"))
        .map(([name]) => name);
    } catch {
      catalogStale = true;
      routed = directory.watched().map((v) => v.service);
    }
    const backends = await Promise.all(
      routed.sort().map(async (service) => {
        const view = await directory.view(service);
        return backendStatus(view, view.stale ? 0 : await totalInstances(service));
      }),
    );
    const stale = catalogStale || backends.some((b) => b.stale);
    const state = deps.draining()
      ? ServingState.NOT_SERVING
      : stale || backends.some((b) => b.healthyInstances === 0)
        ? ServingState.DEGRADED
        : ServingState.SERVING;
    return create(StatusResponseSchema, {
      id: deps.routerId,
      state,
      version: deps.version,
      capabilities: ["routing", "dial-in"],
      uptimeSeconds: BigInt(Math.floor((Date.now() - deps.startedAtMs) / 1000)),
      activeTasks: deps.activeCalls(),
      backends,
      details: {
        address: deps.address(),
        balancer: deps.balancer,
        registry: consul.address,
        registry_reachable: String(directory.registryReachable()),
        stale: String(stale),
        dial_in_links: String(deps.linkCount()),
      },
    });
  };

  const agentStatus = async (agentId: string): Promise<StatusResponse> => {
    const service = serviceNameFor(agentId, "agent");
    let registered: boolean;
    try {
      registered = await directory.isRegistered(service);
    } catch (err) {
      throw registryUnavailable(err);
    }
    if (!registered) {
      throw new ConnectError(
        `unknown agent "${agentId}": no registry service "${service}"`,
        Code.NotFound,
      );
    }
    const view = await directory.view(service);
    const meta = view.instances[0]?.meta ?? {};
    return create(StatusResponseSchema, {
      id: agentId,
      state: view.instances.length > 0 ? ServingState.SERVING : ServingState.NOT_SERVING,
      version: meta.version ?? "",
      capabilities: splitList(meta.capabilities),
      backends: [backendStatus(view, view.stale ? 0 : await totalInstances(service))],
      details: {
        service,
        endpoints: view.instances.map(endpointOf).join(","),
        stale: String(view.stale),
        ...(meta.dial_in ? { dial_in: meta.dial_in } : {}),
      },
    });
  };

  // What AgentInfo, ToolInfo and WorkerInfo share, from a service's registry Meta.
  const listingFields = (s: Awaited<ReturnType<typeof summaries>>[number]) => ({
    name: s.meta.name ?? s.service,
    description: s.meta.description ?? "",
    endpoint: s.endpoint,
    version: s.meta.version ?? "",
    healthyInstances: s.healthy,
  });

  return (router) => {
    router.service(AgentService, {
      getStatus: (req) => (req.agentId === "" ? routerStatus() : agentStatus(req.agentId)),
      async listAgents(req) {
        const agents = (await summaries("agent"))
          .map((s) =>
            create(AgentInfoSchema, {
              agentId: clientIdFor(s.service, "agent"),
              ...listingFields(s),
              capabilities: splitList(s.meta.capabilities),
              dialIn: s.meta.dial_in === "true",
            }),
          )
          .filter((a) => req.capability === "" || a.capabilities.includes(req.capability));
        return create(ListAgentsResponseSchema, { agents });
      },
    });
    router.service(ToolService, {
      async listTools() {
        const tools = (await summaries("tool")).map((s) =>
          create(ToolInfoSchema, {
            toolId: clientIdFor(s.service, "tool"),
            ...listingFields(s),
            operations: splitList(s.meta.operations ?? s.meta.capabilities),
          }),
        );
        return create(ListToolsResponseSchema, { tools });
      },
    });
    router.service(TaskWorker, {
      async listWorkers() {
        const workers = (await summaries("worker")).map((s) =>
          create(WorkerInfoSchema, {
            workerId: clientIdFor(s.service, "worker"),
            ...listingFields(s),
            capabilities: splitList(s.meta.capabilities),
          }),
        );
        return create(ListWorkersResponseSchema, { workers });
      },
    });
  };
}
