// Picks an instance for each call among a service's healthy instances, and takes instances that
// keep failing out of rotation for a while (outlier ejection with exponential, capped recovery).
import type { ServiceInstance } from "../../registry/service-watch";

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
  started(address: string): void;
  finished(service: string, address: string, verdict: AttemptVerdict): void;
  state(address: string): EndpointState | undefined;
  isEjected(address: string): boolean;
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
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const endpoints = new Map<string, EndpointState>();
  const cursors = new Map<string, number>();
  const scratch: ServiceInstance[] = [];

  const stateOf = (address: string): EndpointState => {
    let s = endpoints.get(address);
    if (!s) {
      s = { address, inFlight: 0, consecutiveFailures: 0, ejectedUntil: 0, ejectionLevel: 0 };
      endpoints.set(address, s);
    }
    return s;
  };
  const ejected = (s: EndpointState | undefined, at: number) =>
    s !== undefined && s.ejectedUntil > at;

  const eject = (service: string, s: EndpointState) => {
    s.ejectionLevel = Math.min(s.ejectionLevel + 1, 16);
    const forMs = Math.min(baseEjectionMs * 2 ** (s.ejectionLevel - 1), maxEjectionMs);
    s.ejectedUntil = now() + forMs;
    s.consecutiveFailures = 0;
    options.onEject?.(service, s.address, forMs);
  };

  return {
    kind,
    pick(service, instances, exclude) {
      const at = now();
      scratch.length = 0;
      for (const instance of instances) {
        const address = addressOf(instance);
        if (exclude.includes(address)) continue;
        if (ejected(endpoints.get(address), at)) continue;
        scratch.push(instance);
      }
      if (scratch.length === 0) {
        for (const instance of instances) {
          if (!exclude.includes(addressOf(instance))) scratch.push(instance);
        }
      }
      const n = scratch.length;
      if (n === 0) return undefined;
      if (n === 1) return scratch[0];
      if (kind === "round_robin") {
        const cursor = cursors.get(service) ?? 0;
        cursors.set(service, (cursor + 1) % 1_000_000_007);
        return scratch[cursor % n];
      }
      // Power of two choices: two distinct random instances, the one with fewer calls in flight.
      const i = Math.floor(random() * n);
      let j = Math.floor(random() * (n - 1));
      if (j >= i) j++;
      const a = scratch[i] as ServiceInstance;
      const b = scratch[j] as ServiceInstance;
      const loadA = endpoints.get(addressOf(a))?.inFlight ?? 0;
      const loadB = endpoints.get(addressOf(b))?.inFlight ?? 0;
      return loadB < loadA ? b : a;
    },
    started(address) {
      stateOf(address).inFlight++;
    },
    finished(service, address, verdict) {
      const s = stateOf(address);
      s.inFlight = Math.max(0, s.inFlight - 1);
      const at = now();
      if (verdict === "ok") {
        const wasEjected = s.ejectionLevel > 0;
        s.consecutiveFailures = 0;
        if (!ejected(s, at)) {
          s.ejectionLevel = 0;
          if (wasEjected) options.onReadmit?.(service, address);
        }
        return;
      }
      if (ejected(s, at)) return;
      if (verdict === "transport") {
        eject(service, s);
        return;
      }
      s.consecutiveFailures++;
      if (s.consecutiveFailures >= failuresToEject) eject(service, s);
    },
    state: (address) => endpoints.get(address),
    isEjected: (address) => ejected(endpoints.get(address), now()),
  };
}
