// Client for the Consul HTTP API subset the platform uses; works against Consul and the embedded registry.
import type {
  AgentSelf,
  CatalogServices,
  CheckStatus,
  ServiceEntry,
  ServiceRegistration,
} from "./consul-types";

export interface ConsulClientOptions {
  /** Base URL or host:port of the agent. Default: CONSUL_HTTP_ADDR, else http://127.0.0.1:8500. */
  address?: string;
  /** ACL token sent as X-Consul-Token. Default: CONSUL_HTTP_TOKEN. */
  token?: string;
  /** Timeout for non-blocking requests in ms. Default: 5000. */
  timeoutMs?: number;
}

/** A blocking-query result: the body plus the X-Consul-Index it reflects. */
export interface Indexed<T> {
  value: T;
  index: number;
}

export interface BlockingOptions {
  /** X-Consul-Index from the previous answer; 0 or absent returns at once. */
  index?: number;
  /** How long the registry may hold the request, e.g. "30s". Default "5m" in Consul. */
  wait?: string;
  signal?: AbortSignal;
}

export class ConsulError extends Error {
  override readonly name = "ConsulError";
  constructor(
    message: string,
    /** HTTP status, or 0 when the registry could not be reached. */
    readonly status: number,
  ) {
    super(message);
  }
}

export function normaliseConsulAddress(address: string): string {
  const withScheme = /^https?:\/\//.test(address) ? address : `http://${address}`;
  return withScheme.replace(/\/+$/, "");
}

export interface ConsulClient {
  readonly address: string;
  catalogServices(options?: BlockingOptions): Promise<Indexed<CatalogServices>>;
  /** Names of services carrying every one of the given tags. */
  servicesWithTag(tag: string): Promise<string[]>;
  healthService(
    name: string,
    options?: BlockingOptions & { passing?: boolean },
  ): Promise<Indexed<ServiceEntry[]>>;
  register(registration: ServiceRegistration): Promise<void>;
  deregister(serviceId: string): Promise<void>;
  /** Reports a TTL check's status (PUT /v1/agent/check/update/:id). */
  updateTtlCheck(checkId: string, status: CheckStatus, output?: string): Promise<void>;
  /**
   * Puts a service instance into maintenance (a critical `_service_maintenance:<id>` check) or
   * takes it out (PUT /v1/agent/service/maintenance/:id?enable=&reason=).
   */
  serviceMaintenance(serviceId: string, enable: boolean, reason?: string): Promise<void>;
  /** The local agent's registration of a service instance, or undefined when it has none. */
  agentService(serviceId: string): Promise<ServiceRegistration | undefined>;
  /** Resolves when the registry answers /v1/status/leader. */
  ping(signal?: AbortSignal): Promise<void>;
  /** The agent's own description (GET /v1/agent/self): datacenter, node name, version. */
  agentSelf(signal?: AbortSignal): Promise<AgentSelf>;
}

export function createConsulClient(options: ConsulClientOptions = {}): ConsulClient {
  const address = normaliseConsulAddress(
    options.address ?? process.env.CONSUL_HTTP_ADDR ?? "127.0.0.1:8500",
  );
  const token = options.token ?? process.env.CONSUL_HTTP_TOKEN;
  const timeoutMs = options.timeoutMs ?? 5000;

  async function request(
    method: "GET" | "PUT",
    path: string,
    init: { body?: unknown; signal?: AbortSignal; blocking?: boolean } = {},
  ): Promise<Response> {
    const timeout = AbortSignal.timeout(init.blocking ? timeoutMs + 10 * 60_000 : timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const headers: Record<string, string> = {};
    if (token) headers["X-Consul-Token"] = token;
    if (init.body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(`${address}${path}`, {
        method,
        headers,
        signal,
        ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      });
    } catch (err) {
      if (init.signal?.aborted) throw err;
      const reason = err instanceof Error ? (err.cause ?? err).toString() : String(err);
      throw new ConsulError(`registry ${address} unreachable: ${reason}`, 0);
    }
    if (!response.ok) {
      const text = (await response.text()).trim();
      throw new ConsulError(
        `registry ${method} ${path} failed: ${response.status} ${text}`,
        response.status,
      );
    }
    return response;
  }

  function blockingQuery(path: string, options: BlockingOptions, extra: string[] = []): string {
    const params = [...extra];
    if (options.index !== undefined && options.index > 0) params.push(`index=${options.index}`);
    if (options.wait !== undefined) params.push(`wait=${encodeURIComponent(options.wait)}`);
    return params.length > 0 ? `${path}?${params.join("&")}` : path;
  }

  async function indexed<T>(response: Response): Promise<Indexed<T>> {
    const index = Number(response.headers.get("X-Consul-Index") ?? "0");
    return { value: (await response.json()) as T, index: Number.isFinite(index) ? index : 0 };
  }

  return {
    address,
    async catalogServices(options = {}) {
      const response = await request("GET", blockingQuery("/v1/catalog/services", options), {
        ...(options.signal ? { signal: options.signal } : {}),
        blocking: options.index !== undefined && options.index > 0,
      });
      return indexed<CatalogServices>(response);
    },
    async servicesWithTag(tag) {
      const { value } = await this.catalogServices();
      return Object.entries(value)
        .filter(([, tags]) => tags.includes(tag))
        .map(([name]) => name)
        .sort();
    },
    async healthService(name, options = {}) {
      const path = `/v1/health/service/${encodeURIComponent(name)}`;
      const response = await request(
        "GET",
        blockingQuery(path, options, options.passing ? ["passing=true"] : []),
        {
          ...(options.signal ? { signal: options.signal } : {}),
          blocking: options.index !== undefined && options.index > 0,
        },
      );
      return indexed<ServiceEntry[]>(response);
    },
    async register(registration) {
      await request("PUT", "/v1/agent/service/register", { body: registration });
    },
    async deregister(serviceId) {
      await request("PUT", `/v1/agent/service/deregister/${encodeURIComponent(serviceId)}`);
    },
    async updateTtlCheck(checkId, status, output = "") {
      await request("PUT", `/v1/agent/check/update/${encodeURIComponent(checkId)}`, {
        body: { Status: status, Output: output },
      });
    },
    async serviceMaintenance(serviceId, enable, reason = "") {
      const query = `enable=${enable}${reason ? `&reason=${encodeURIComponent(reason)}` : ""}`;
      await request(
        "PUT",
        `/v1/agent/service/maintenance/${encodeURIComponent(serviceId)}?${query}`,
      );
    },
    async agentService(serviceId) {
      try {
        const response = await request("GET", `/v1/agent/service/${encodeURIComponent(serviceId)}`);
        return (await response.json()) as ServiceRegistration;
      } catch (err) {
        if (err instanceof ConsulError && err.status === 404) return undefined;
        throw err;
      }
    },
    async ping(signal) {
      await request("GET", "/v1/status/leader", signal ? { signal } : {});
    },
    async agentSelf(signal) {
      const response = await request("GET", "/v1/agent/self", signal ? { signal } : {});
      return (await response.json()) as AgentSelf;
    },
  };
}
