// DNS discovery: A records of a name (Kubernetes headless Services, Cloud Map MULTIVALUE, Compose
// service names) with a configured port, or SRV records that carry the ports themselves.
import { promises as dns } from "node:dns";
import { isIP } from "node:net";
import type { DiscoveryStrategy, Endpoint } from "./endpoint";

export interface DnsResolverOptions {
  /** Name servers as "ip" or "ip:port". Default: the system's. */
  servers?: string[];
  /** Per-query timeout in ms. Default 2000. */
  timeoutMs?: number;
  /** Tries per name server. Default 2. */
  tries?: number;
}

/** "No such name" and "no records of that type" are answers (nothing here), not failures. */
const emptyAnswerCodes = new Set(["ENOTFOUND", "ENODATA"]);

function isEmptyAnswer(err: unknown): boolean {
  return (
    typeof err === "object" &&
    err !== null &&
    "code" in err &&
    emptyAnswerCodes.has(String(err.code))
  );
}

/** Runs `lookup` on a resolver of its own, so aborting one lookup cancels no other. */
async function withResolver<T>(
  options: DnsResolverOptions,
  signal: AbortSignal | undefined,
  lookup: (resolver: dns.Resolver) => Promise<T>,
): Promise<T> {
  const resolver = new dns.Resolver({
    timeout: options.timeoutMs ?? 2000,
    tries: options.tries ?? 2,
  });
  if (options.servers && options.servers.length > 0) resolver.setServers(options.servers);
  signal?.throwIfAborted();
  const cancel = () => resolver.cancel();
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    return await lookup(resolver);
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
}

async function addressesOf(resolver: dns.Resolver, name: string): Promise<string[]> {
  try {
    return await resolver.resolve4(name);
  } catch (err) {
    if (isEmptyAnswer(err)) return [];
    throw err;
  }
}

/** A records of `name`, each dialled on `port`. */
export function createDnsAStrategy(
  name: string,
  port: number,
  options: DnsResolverOptions = {},
): DiscoveryStrategy {
  return {
    name: "dns-a",
    target: `${name}:${port}`,
    resolve: (signal) =>
      withResolver(options, signal, async (resolver) =>
        (await addressesOf(resolver, name)).sort().map((host) => ({ host, port })),
      ),
  };
}

/**
 * SRV records of `name`. Only the lowest-priority group is returned (higher numbers are backups
 * per RFC 2782), heaviest first. Targets are resolved to A records through the same name servers;
 * a target without one is returned by name for the dialler to resolve.
 */
export function createDnsSrvStrategy(
  name: string,
  options: DnsResolverOptions = {},
): DiscoveryStrategy {
  return {
    name: "dns-srv",
    target: name,
    resolve: (signal) =>
      withResolver(options, signal, async (resolver) => {
        let records: Awaited<ReturnType<dns.Resolver["resolveSrv"]>>;
        try {
          records = await resolver.resolveSrv(name);
        } catch (err) {
          if (isEmptyAnswer(err)) return [];
          throw err;
        }
        const best = Math.min(...records.map((r) => r.priority));
        const group = records
          .filter((r) => r.priority === best)
          .sort((a, b) => b.weight - a.weight || a.name.localeCompare(b.name));
        const out: Endpoint[] = [];
        for (const record of group) {
          const hosts = isIP(record.name)
            ? [record.name]
            : await addressesOf(resolver, record.name);
          for (const host of hosts.length > 0 ? hosts : [record.name]) {
            out.push({ host, port: record.port });
          }
        }
        return out;
      }),
  };
}
