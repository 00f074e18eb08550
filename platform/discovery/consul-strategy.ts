// Consul (or the embedded registry): the passing instances of one service.
import type { ConsulClient } from "../consul/consul-client";
import { toInstance } from "../consul/service-watch";
import type { DiscoveryStrategy } from "./endpoint";

export function createConsulStrategy(consul: ConsulClient, service: string): DiscoveryStrategy {
  return {
    name: "consul",
    target: `${service} at ${consul.address}`,
    async resolve(signal) {
      const answer = await consul.healthService(service, {
        passing: true,
        ...(signal ? { signal } : {}),
      });
      return answer.value.map(toInstance).map((i) => ({ host: i.address, port: i.port }));
    },
  };
}
