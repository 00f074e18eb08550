// Registers a server instance in the registry with a health check, keeps it registered, and removes it.
import { hostname } from "node:os";
import type { ConsulClient } from "./consul/consul-client";
import type { CheckDefinition } from "./consul/consul-types";
import type { Logger } from "./log";

export interface InstanceRegistration {
  /** Registry service name, e.g. "agent-echo" or "grpc-router". */
  name: string;
  /** Unique instance id. Default: `${name}-${hostname}-${port}`. */
  id?: string;
  tags: string[];
  meta: Record<string, string>;
  /** Address other processes dial. */
  address: string;
  port: number;
  /** How the registry checks the instance. Default: gRPC health, every 2 s. */
  check?: "grpc" | "tcp";
  checkIntervalMs?: number;
  /** Removed from the registry after being critical this long. Default 60 s. */
  deregisterCriticalAfterMs?: number;
  /** The gRPC health check uses TLS. */
  tls?: boolean;
}

export interface Registration {
  readonly id: string;
  /** Stops the keep-registered loop and deregisters; never throws. */
  deregister(): Promise<void>;
}

const seconds = (ms: number) => `${Math.max(1, Math.round(ms / 1000))}s`;

export function checkDefinitionFor(reg: InstanceRegistration, id: string): CheckDefinition {
  const target = `${reg.address}:${reg.port}`;
  const interval = seconds(reg.checkIntervalMs ?? 2000);
  const common: CheckDefinition = {
    CheckID: `service:${id}`,
    Name: `${reg.check === "tcp" ? "TCP" : "gRPC health"} on ${target}`,
    Interval: interval,
    Timeout: "2s",
    DeregisterCriticalServiceAfter: seconds(reg.deregisterCriticalAfterMs ?? 60_000),
  };
  return reg.check === "tcp"
    ? { ...common, TCP: target }
    : { ...common, GRPC: target, GRPCUseTLS: reg.tls ?? false };
}

export interface RegistrationOptions {
  /**
   * How often the registry is asked whether it still has the instance (one local-agent read);
   * also how soon a registry that restarted without its state has it back. Default 1000 ms.
   */
  refreshMs?: number;
  /** Stops the first registration's retries. */
  signal?: AbortSignal;
}

/**
 * Registers the instance, retrying while the registry is unreachable, and re-registers it
 * whenever the registry forgets it (a restarted agent, an expired critical check).
 */
export async function registerInstance(
  consul: ConsulClient,
  reg: InstanceRegistration,
  log: Logger,
  { refreshMs = 1000, signal }: RegistrationOptions = {},
): Promise<Registration> {
  const id = reg.id ?? `${reg.name}-${hostname()}-${reg.port}`;
  const body = {
    ID: id,
    Name: reg.name,
    Tags: reg.tags,
    Address: reg.address,
    Port: reg.port,
    Meta: reg.meta,
    Check: checkDefinitionFor(reg, id),
  };
  let stopped = false;
  let delay = 250;
  for (;;) {
    try {
      await consul.register(body);
      break;
    } catch (err) {
      if (signal?.aborted) throw err;
      log.warn("registry not ready, retrying registration", { service: reg.name, err, delay });
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
  log.info("registered", { service: reg.name, id, address: `${reg.address}:${reg.port}` });

  let checking = false;
  const timer = setInterval(async () => {
    // One check at a time: a registry slower than refreshMs must not pile them up.
    if (stopped || checking) return;
    checking = true;
    try {
      if ((await consul.agentService(id)) === undefined && !stopped) {
        await consul.register(body);
        log.info("re-registered after the registry forgot this instance", { id });
      }
    } catch (err) {
      log.debug("registry check failed", { err });
    } finally {
      checking = false;
    }
  }, refreshMs);
  timer.unref();

  return {
    id,
    async deregister() {
      stopped = true;
      clearInterval(timer);
      try {
        await consul.deregister(id);
        log.info("deregistered", { id });
      } catch (err) {
        log.warn("deregistration failed", { id, err });
      }
    },
  };
}
