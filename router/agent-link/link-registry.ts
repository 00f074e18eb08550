// Keeps dial-in agents visible in the registry: each agent service linked to this router is
// registered at the router's own address (Meta dial_in=true, router_id) with a TTL check the
// router refreshes while a link is up. When the last link goes, the check turns critical at once
// and the registration is removed after a grace period (the agent may come straight back).

import type { ConsulClient } from "../../platform/consul/consul-client";
import { ConsulError } from "../../platform/consul/consul-client";
import type { ServiceRegistration } from "../../platform/consul/consul-types";
import type { Logger } from "../../platform/log";

export interface LinkedServiceInfo {
  agentId: string;
  name: string;
  description: string;
  capabilities: string[];
  version: string;
}

export interface LinkRegistryOptions {
  consul: ConsulClient;
  routerId: () => string;
  /** host:port of the router, as other routers dial it. */
  routerAddress: () => string;
  logger: Logger;
  /** TTL of the check; the router refreshes it three times per TTL. Default 15000 ms. */
  ttlMs?: number;
  /** How long a service with no link stays registered (critical) before removal. Default 30000 ms. */
  offlineGraceMs?: number;
  /**
   * How often the registry is asked whether it still has a linked service (one local-agent
   * read, whatever the number of links), so one that restarted without its state has them all
   * back within this. Default 1000 ms.
   */
  presenceCheckMs?: number;
}

export interface LinkRegistry {
  /** A link for the service is up: registers it, or marks it passing again. */
  up(service: string, info: LinkedServiceInfo, links: number): void;
  /** The service has no link left here: critical now, deregistered after the grace period. */
  down(service: string, reason: string): void;
  /** Resolves when every registry call queued so far has been made. */
  settled(): Promise<void>;
  /** Deregisters everything (the router is going away). */
  close(): Promise<void>;
}

interface Entry {
  id: string;
  body: ServiceRegistration;
  up: boolean;
  links: number;
  /** Registry calls for this service run one after another. */
  chain: Promise<void>;
  removeTimer?: NodeJS.Timeout;
  registered: boolean;
}

export function splitHostPort(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  if (!match) throw new Error(`bad router address "${address}"`);
  return { host: match[1] ?? "", port: Number(match[2]) };
}

const goSeconds = (ms: number) => `${Math.max(1, Math.ceil(ms / 1000))}s`;

export function createLinkRegistry(options: LinkRegistryOptions): LinkRegistry {
  const { consul, logger: log } = options;
  const ttlMs = options.ttlMs ?? 15_000;
  const graceMs = options.offlineGraceMs ?? 30_000;
  const entries = new Map<string, Entry>();
  /** The last queued call per service, so a new entry waits for a removed one's deregistration. */
  const tails = new Map<string, Promise<void>>();
  let closed = false;

  const checkId = (entry: Entry) => `service:${entry.id}`;
  const enqueue = (entry: Entry, work: () => Promise<void>) => {
    entry.chain = entry.chain.then(work).catch((err: unknown) => {
      log.warn("registry update for a dial-in agent failed", { service: entry.body.Name, err });
    });
    tails.set(entry.body.Name, entry.chain);
  };
  const register = async (entry: Entry) => {
    await consul.register(entry.body);
    entry.registered = true;
    log.info("dial-in agent registered", { service: entry.body.Name, id: entry.id });
  };

  const refresh = setInterval(
    () => {
      for (const entry of entries.values()) {
        if (!entry.up) continue;
        enqueue(entry, async () => {
          if (!entry.registered) return register(entry);
          try {
            await consul.updateTtlCheck(
              checkId(entry),
              "passing",
              `${entry.links} link(s) to ${options.routerId()}`,
            );
          } catch (err) {
            // The registry forgot the check (restarted, or reaped it): register again.
            if (err instanceof ConsulError && err.status !== 0) await register(entry);
            else throw err;
          }
        });
      }
    },
    Math.max(200, Math.floor(ttlMs / 3)),
  );
  refresh.unref();

  // Between TTL refreshes: a registry that restarted empty gets the linked services back at once.
  // One read a second, whatever the number of links: if the registry forgot one registration,
  // it forgot them all (a restart), so every linked service registers again.
  let checking = false;
  let cursor = 0;
  const presence = setInterval(
    () => {
      const live = [...entries.values()].filter((e) => e.up && e.registered);
      if (checking || live.length === 0) return;
      const probe = live[cursor++ % live.length] as Entry;
      checking = true;
      consul
        .agentService(probe.id)
        .then((found) => {
          if (found !== undefined || closed) return;
          log.info("the registry forgot the dial-in agents: registering them again", {
            services: live.length,
          });
          for (const entry of entries.values()) {
            if (entry.up) enqueue(entry, () => register(entry));
          }
        })
        .catch((err: unknown) => {
          // Unreachable: the TTL refresh reports it; checked again in a second.
          log.debug("registry presence check failed", { err });
        })
        .finally(() => {
          checking = false;
        });
    },
    Math.max(100, options.presenceCheckMs ?? 1000),
  );
  presence.unref();

  return {
    up(service, info, links) {
      if (closed) return;
      const routerId = options.routerId();
      const { host, port } = splitHostPort(options.routerAddress());
      const id = `${service}-via-${routerId}`;
      const body: ServiceRegistration = {
        ID: id,
        Name: service,
        Tags: ["agent", "dial-in"],
        Address: host,
        Port: port,
        Meta: {
          name: info.name,
          client_id: info.agentId,
          description: info.description,
          capabilities: info.capabilities.join(","),
          version: info.version,
          dial_in: "true",
          router_id: routerId,
        },
        Check: {
          CheckID: `service:${id}`,
          Name: `dial-in link held by ${routerId}`,
          TTL: goSeconds(ttlMs),
          Status: "passing",
          DeregisterCriticalServiceAfter: goSeconds(Math.max(60_000, graceMs * 2)),
        },
      };
      let entry = entries.get(service);
      if (!entry) {
        const chain = tails.get(service) ?? Promise.resolve();
        entry = { id, body, up: true, links, chain, registered: false };
        entries.set(service, entry);
        const created = entry;
        enqueue(created, () => register(created));
        return;
      }
      clearTimeout(entry.removeTimer);
      const changed = JSON.stringify(entry.body.Meta) !== JSON.stringify(body.Meta);
      const wasDown = !entry.up;
      entry.body = body;
      entry.up = true;
      entry.links = links;
      const current = entry;
      if (changed || !current.registered) enqueue(current, () => register(current));
      else if (wasDown) {
        enqueue(current, () => consul.updateTtlCheck(checkId(current), "passing", "link restored"));
      }
    },
    down(service, reason) {
      const entry = entries.get(service);
      if (!entry || closed) return;
      entry.up = false;
      entry.links = 0;
      enqueue(entry, async () => {
        if (entry.registered) await consul.updateTtlCheck(checkId(entry), "critical", reason);
      });
      clearTimeout(entry.removeTimer);
      entry.removeTimer = setTimeout(() => {
        if (entry.up || entries.get(service) !== entry) return;
        entries.delete(service);
        enqueue(entry, async () => {
          await consul.deregister(entry.id);
          log.info("dial-in agent deregistered", { service, id: entry.id, reason });
        });
      }, graceMs);
      entry.removeTimer.unref();
    },
    async settled() {
      await Promise.all([...entries.values()].map((e) => e.chain));
    },
    async close() {
      closed = true;
      clearInterval(refresh);
      clearInterval(presence);
      const all = [...entries.values()];
      entries.clear();
      for (const entry of all) {
        clearTimeout(entry.removeTimer);
        enqueue(entry, () => consul.deregister(entry.id));
      }
      await Promise.all(all.map((e) => e.chain));
    },
  };
}
