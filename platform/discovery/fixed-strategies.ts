// Strategies whose answer is configuration: a list of endpoints, or one load-balancer address.
import type { DiscoveryStrategy, Endpoint } from "./endpoint";
import { formatEndpoint } from "./endpoint";

/** GRPC_STATIC_ENDPOINTS: the instances themselves, listed by the operator. */
export function createStaticStrategy(endpoints: readonly Endpoint[]): DiscoveryStrategy {
  return {
    name: "static",
    target: endpoints.map(formatEndpoint).join(","),
    resolve: async () => endpoints.map((e) => ({ ...e })),
  };
}

/** GRPC_LB_ENDPOINT: one address in front of many instances (an NLB, HAProxy, a Kubernetes Service). */
export function createLoadBalancerStrategy(endpoint: Endpoint): DiscoveryStrategy {
  return {
    name: "lb",
    target: formatEndpoint(endpoint),
    resolve: async () => [{ ...endpoint }],
  };
}
