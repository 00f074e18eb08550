// Picks an instance for each call among a service's healthy instances, and takes instances that
// keep failing out of rotation for a while (outlier ejection with exponential, capped recovery).
import type { ServiceInstance } from "../consul/service-watch";

export type BalancerKind = "p2c" | "round_robin";
export const balancerKinds: readonly BalancerKind[] = ["p2c", "round_robin"];

/** What an attempt on an instance came to, for outlier detection. */
export type AttemptVerdict =
  /** Answered (whatever its gRPC status, short of UNAVAILABLE). */
  | "ok"
  /** UNAVAILABLE, a refused stream or similar: counts toward ejection. */
  | "failure"
  /** Unreachable or dropped the connection: out of rotation at once. */
  | "transport";

export interface EndpointState {
  readonly address: string;
  inFlight: number;
  consecutiveFailures: number;
  /** ms since the epoch until which the instance is out of rotation; 0 when it is in. */
  ejectedUntil: number;
  /** Ejections in a row without a success between them: sets the next ejection's length. */
  ejectionLevel: number;
  /** The service of its last finished call ("" before one), for ejections reported without one. */
  service: string;
}

export interface BalancerOptions {
  /** Default "p2c". */
  kind?: BalancerKind;
  /** Consecutive failures that eject an instance. Default 5. */
  failuresToEject?: number;
  /** First ejection length; doubles with each further ejection in a row. Default 1000 ms. */
  baseEjectionMs?: number;
  /** Longest ejection. Default 30000 ms. */
  maxEjectionMs?: number;
  /**
   * Most of a service's instances out of rotation at once, in percent (Envoy's
   * max_ejection_percent); one instance may always be ejected. Default 50.
   */
  maxEjectionPercent?: number;
  /** Default Math.random (tests pass a seeded one). */
  random?: () => number;
  now?: () => number;
  onEject?(service: string, address: string, forMs: number): void;
  onReadmit?(service: string, address: string): void;
}

export interface Balancer {
  readonly kind: BalancerKind;
  /**
   * The instance for the next attempt, skipping addresses in `exclude` and ejected instances.
   * When every instance is ejected it picks among them anyway: trying beats failing for sure.
   */
  pick(
    service: string,
    instances: readonly ServiceInstance[],
    exclude: readonly string[],
  ): ServiceInstance | undefined;
  /** `pick` over host:port addresses (see addressOf): the form the forwarding path uses. */
  pickAddress(
    service: string,
    addresses: readonly string[],
    exclude: readonly string[],
  ): string | undefined;
  started(address: string): void;
  finished(service: string, address: string, verdict: AttemptVerdict): void;
  state(address: string): EndpointState | undefined;
  isEjected(address: string): boolean;
  /**
   * The instance stopped answering (a PING or a connection that timed out): out of rotation,
   * within the max ejection share of its service.
   */
  unresponsive(address: string): void;
}

export function addressOf(instance: ServiceInstance): string {
  return instance.address.includes(":")
    ? `[${instance.address}]:${instance.port}`
    : `${instance.address}:${instance.port}`;
}

export function createBalancer(options: BalancerOptions = {}): Balancer {
  const kind = options.kind ?? "p2c";
  const failuresToEject = options.failuresToEject ?? 5;
  const baseEjectionMs = options.baseEjectionMs ?? 1000;
  const maxEjectionMs = options.maxEjectionMs ?? 30_000;
  const maxEjectionPercent = options.maxEjectionPercent ?? 50;
  /** Each service's instance addresses as last picked from, for the ejection share. */
  const addressesOf = new Map<string, readonly string[]>();
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const endpoints = new Map<string, EndpointState>();
  const cursors = new Map<string, number>();
  const scratch: number[] = [];

  const stateOf = (address: string): EndpointState => {
    let s = endpoints.get(address);
    if (!s) {
      s = {
        address,
        inFlight: 0,
        consecutiveFailures: 0,
        ejectedUntil: 0,
        ejectionLevel: 0,
        service: "",
      };
      endpoints.set(address, s);
    }
    return s;
  };
  const ejected = (s: EndpointState | undefined, at: number) =>
    s !== undefined && s.ejectedUntil > at;
  // The latest end of any ejection; 0 once all have passed. While it is 0 a pick reads no clock.
  let ejectionsUntil = 0;

  /** Whether one more of the service's instances may go out of rotation. */
  const mayEject = (service: string, s: EndpointState, at: number): boolean => {
    const addresses = addressesOf.get(service);
    if (addresses === undefined || addresses.length === 0) return true;
    let out = 0;
    for (const address of addresses) {
      if (address !== s.address && ejected(endpoints.get(address), at)) out++;
    }
    return out === 0 || (out + 1) * 100 <= maxEjectionPercent * addresses.length;
  };

  const eject = (service: string, s: EndpointState) => {
    if (!mayEject(service, s, now())) return;
    s.ejectionLevel = Math.min(s.ejectionLevel + 1, 16);
    const forMs = Math.min(baseEjectionMs * 2 ** (s.ejectionLevel - 1), maxEjectionMs);
    s.ejectedUntil = now() + forMs;
    ejectionsUntil = Math.max(ejectionsUntil, s.ejectedUntil);
    s.consecutiveFailures = 0;
    options.onEject?.(service, s.address, forMs);
  };

  /** The index in `addresses` of the next pick, or -1 when every one is excluded. */
  const pickIndex = (
    service: string,
    addresses: readonly string[],
    exclude: readonly string[],
  ): number => {
    if (addressesOf.get(service) !== addresses) addressesOf.set(service, addresses);
    let at = 0;
    if (ejectionsUntil !== 0) {
      at = now();
      if (at >= ejectionsUntil) ejectionsUntil = 0;
    }
    const checkEjected = ejectionsUntil !== 0;
    scratch.length = 0;
    for (let i = 0; i < addresses.length; i++) {
      const address = addresses[i] as string;
      if (exclude.length > 0 && exclude.includes(address)) continue;
      if (checkEjected && ejected(endpoints.get(address), at)) continue;
      scratch.push(i);
    }
    if (scratch.length === 0 && checkEjected) {
      for (let i = 0; i < addresses.length; i++) {
        if (!exclude.includes(addresses[i] as string)) scratch.push(i);
      }
    }
    const n = scratch.length;
    if (n === 0) return -1;
    if (n === 1) return scratch[0] as number;
    if (kind === "round_robin") {
      const cursor = cursors.get(service) ?? 0;
      cursors.set(service, (cursor + 1) % 1_000_000_007);
      return scratch[cursor % n] as number;
    }
    // Power of two choices: two distinct random instances, the one with fewer calls in flight.
    const i = Math.floor(random() * n);
    let j = Math.floor(random() * (n - 1));
    if (j >= i) j++;
    const a = scratch[i] as number;
    const b = scratch[j] as number;
    const loadA = endpoints.get(addresses[a] as string)?.inFlight ?? 0;
    const loadB = endpoints.get(addresses[b] as string)?.inFlight ?? 0;
    return loadB < loadA ? b : a;
  };

  return {
    kind,
    pick(service, instances, exclude) {
      const index = pickIndex(service, instances.map(addressOf), exclude);
      return index < 0 ? undefined : instances[index];
    },
    pickAddress(service, addresses, exclude) {
      const index = pickIndex(service, addresses, exclude);
      return index < 0 ? undefined : addresses[index];
    },
    started(address) {
      stateOf(address).inFlight++;
    },
    finished(service, address, verdict) {
      const s = stateOf(address);
      s.inFlight = Math.max(0, s.inFlight - 1);
      s.service = service;
      if (verdict === "ok") {
        s.consecutiveFailures = 0;
        // Nothing more to do for an instance never ejected: no clock read on the common path.
        if (s.ejectionLevel === 0) return;
        if (!ejected(s, now())) {
          s.ejectionLevel = 0;
          options.onReadmit?.(service, address);
        }
        return;
      }
      if (ejected(s, now())) return;
      if (verdict === "transport") {
        eject(service, s);
        return;
      }
      s.consecutiveFailures++;
      if (s.consecutiveFailures >= failuresToEject) eject(service, s);
    },
    state: (address) => endpoints.get(address),
    unresponsive(address) {
      const s = endpoints.get(address);
      if (s === undefined || s.service === "" || ejected(s, now())) return;
      eject(s.service, s);
    },
    isEjected: (address) => ejected(endpoints.get(address), now()),
  };
}
