// An address to dial, and the contract every discovery strategy fulfils.

export interface Endpoint {
  host: string;
  port: number;
}

export type DiscoveryStrategyName = "static" | "lb" | "dns-srv" | "dns-a" | "consul";

export const discoveryStrategyNames: readonly DiscoveryStrategyName[] = [
  "static",
  "lb",
  "dns-srv",
  "dns-a",
  "consul",
];

export interface DiscoveryStrategy {
  readonly name: DiscoveryStrategyName;
  /** What is being looked up, for messages (e.g. "127.0.0.1:7001,…" or "_grpc._tcp.router"). */
  readonly target: string;
  /** Current endpoints; an empty list means "nothing here" and the next strategy is tried. */
  resolve(signal?: AbortSignal): Promise<Endpoint[]>;
}

/** host:port as a dialer wants it, with IPv6 hosts in brackets. */
export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.host.includes(":")
    ? `[${endpoint.host}]:${endpoint.port}`
    : `${endpoint.host}:${endpoint.port}`;
}

/** Parses "host:port" or "[v6]:port"; undefined when it is not one. */
export function parseEndpoint(text: string): Endpoint | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(text.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  const host = match[1] ?? match[2];
  if (!host || port < 1 || port > 65535) return undefined;
  return { host, port };
}
