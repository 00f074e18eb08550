// Discovery settings from the environment (names after the seed's ECS client), for one target
// service such as the routers. With prefix "GRPC" the variables are:
//   GRPC_DISCOVERY_ORDER   strategies to try, in order. Default static,lb,dns-srv,dns-a,consul
//   GRPC_STATIC_ENDPOINTS  host:port,host:port
//   GRPC_LB_ENDPOINT       host:port of a load balancer in front of the instances
//   GRPC_DNS_SRV_NAME      SRV name, e.g. _grpc._tcp.router.agent-platform.svc.cluster.local
//   GRPC_DNS_NAME          A-record name, dialled on GRPC_DNS_PORT (default 50051)
//   GRPC_DNS_SERVERS       name servers ip[:port],…; default the system's
//   GRPC_DNS_TIMEOUT       per-query timeout. Default 2s
//   GRPC_CONSUL_SERVICE    registry service name. Default grpc-router (uses CONSUL_HTTP_ADDR)
//   GRPC_DISCOVERY_CACHE   how long an answer is reused. Default 10s
import { isIP } from "node:net";
import type { EnvReader } from "../config";
import type { ConsulClient } from "../consul/consul-client";
import { createConsulStrategy } from "./consul-strategy";
import {
  createDnsAStrategy,
  createDnsSrvStrategy,
  type DnsResolverOptions,
} from "./dns-strategies";
import {
  type DiscoveryStrategy,
  type DiscoveryStrategyName,
  discoveryStrategyNames,
  type Endpoint,
  parseEndpoint,
} from "./endpoint";
import { createEndpointDiscovery, type EndpointDiscovery } from "./endpoint-discovery";
import { createLoadBalancerStrategy, createStaticStrategy } from "./fixed-strategies";

export interface DiscoveryConfig {
  order: DiscoveryStrategyName[];
  staticEndpoints: Endpoint[];
  lbEndpoint?: Endpoint;
  dnsSrvName?: string;
  dnsName?: string;
  dnsPort: number;
  dns: DnsResolverOptions;
  consulService: string;
  cacheMs: number;
}

export const defaultDiscoveryOrder: readonly DiscoveryStrategyName[] = discoveryStrategyNames;

function isDnsServer(text: string): boolean {
  const v6 = /^\[([0-9A-Fa-f:.]+)\](?::\d{1,5})?$/.exec(text);
  if (v6) return isIP(v6[1] ?? "") === 6;
  if (isIP(text) !== 0) return true;
  const [host = "", port, ...rest] = text.split(":");
  return rest.length === 0 && isIP(host) === 4 && port !== undefined && /^\d{1,5}$/.test(port);
}

export function readDiscoveryConfig(env: EnvReader, prefix = "GRPC"): DiscoveryConfig {
  const v = (name: string) => `${prefix}_${name}`;
  const order: DiscoveryStrategyName[] = [];
  for (const name of env.list(v("DISCOVERY_ORDER"), defaultDiscoveryOrder)) {
    if ((discoveryStrategyNames as readonly string[]).includes(name)) {
      order.push(name as DiscoveryStrategyName);
    } else {
      env.invalid(
        `${v("DISCOVERY_ORDER")}: "${name}" is not one of ${discoveryStrategyNames.join(", ")}`,
      );
    }
  }
  const staticEndpoints: Endpoint[] = [];
  for (const item of env.list(v("STATIC_ENDPOINTS"))) {
    const endpoint = parseEndpoint(item);
    if (endpoint) staticEndpoints.push(endpoint);
    else env.invalid(`${v("STATIC_ENDPOINTS")}: "${item}" must be host:port`);
  }
  const lbText = env.optionalString(v("LB_ENDPOINT"));
  const lbEndpoint = lbText === undefined ? undefined : parseEndpoint(lbText);
  if (lbText !== undefined && !lbEndpoint)
    env.invalid(`${v("LB_ENDPOINT")} must be host:port, got "${lbText}"`);
  const servers = env.list(v("DNS_SERVERS"));
  for (const server of servers) {
    if (!isDnsServer(server)) {
      env.invalid(`${v("DNS_SERVERS")}: "${server}" must be an IP address with an optional :port`);
    }
  }
  const dnsSrvName = env.optionalString(v("DNS_SRV_NAME"));
  const dnsName = env.optionalString(v("DNS_NAME"));
  return {
    order,
    staticEndpoints,
    ...(lbEndpoint ? { lbEndpoint } : {}),
    ...(dnsSrvName ? { dnsSrvName } : {}),
    ...(dnsName ? { dnsName } : {}),
    dnsPort: env.int(v("DNS_PORT"), 50051, { min: 1, max: 65535 }),
    dns: {
      ...(servers.length > 0 ? { servers: servers.filter(isDnsServer) } : {}),
      timeoutMs: env.durationMs(v("DNS_TIMEOUT"), 2000),
    },
    consulService: env.string(v("CONSUL_SERVICE"), "grpc-router"),
    cacheMs: env.durationMs(v("DISCOVERY_CACHE"), 10_000),
  };
}

/**
 * Like readDiscoveryConfig, but undefined unless `${prefix}_DISCOVERY_ORDER` or a strategy's
 * variable is set: callers then keep following the registry as before.
 */
export function readOptionalDiscoveryConfig(
  env: EnvReader,
  prefix = "GRPC",
): DiscoveryConfig | undefined {
  const config = readDiscoveryConfig(env, prefix);
  const asked =
    env.optionalString(`${prefix}_DISCOVERY_ORDER`) !== undefined ||
    config.staticEndpoints.length > 0 ||
    config.lbEndpoint !== undefined ||
    config.dnsSrvName !== undefined ||
    config.dnsName !== undefined;
  return asked ? config : undefined;
}

/** The configured strategies in order; one named in the order but not configured is left out. */
export function strategiesFor(config: DiscoveryConfig, consul?: ConsulClient): DiscoveryStrategy[] {
  const out: DiscoveryStrategy[] = [];
  for (const name of config.order) {
    if (name === "static" && config.staticEndpoints.length > 0) {
      out.push(createStaticStrategy(config.staticEndpoints));
    } else if (name === "lb" && config.lbEndpoint) {
      out.push(createLoadBalancerStrategy(config.lbEndpoint));
    } else if (name === "dns-srv" && config.dnsSrvName) {
      out.push(createDnsSrvStrategy(config.dnsSrvName, config.dns));
    } else if (name === "dns-a" && config.dnsName) {
      out.push(createDnsAStrategy(config.dnsName, config.dnsPort, config.dns));
    } else if (name === "consul" && consul) {
      out.push(createConsulStrategy(consul, config.consulService));
    }
  }
  return out;
}

export function createDiscoveryFromConfig(
  config: DiscoveryConfig,
  consul?: ConsulClient,
): EndpointDiscovery {
  return createEndpointDiscovery({
    strategies: strategiesFor(config, consul),
    cacheMs: config.cacheMs,
  });
}
