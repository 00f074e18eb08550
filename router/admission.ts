// Overload is refused early rather than timed out late. Each instance takes at most `limit`
// calls at once from this router: an adaptive concurrency limit (gradient of recent to baseline
// latency, as in Netflix's concurrency-limits and Envoy's adaptive concurrency), never above the
// circuit breaker's maxInFlight. Calls past every instance's limit wait in the service's FIFO
// queue, which turns processor sharing (every call late together) into calls served in order;
// a call that cannot start before its deadline at the rate calls are finishing is refused at
// once with UNAVAILABLE and grpc-retry-pushback-ms (gRFC A6).
import { Code } from "@connectrpc/connect";

export interface AdmissionOptions {
  /** Circuit breaker: most calls in flight to one instance from this router. Default 1024. */
  maxInFlight?: number;
  /** Lowest concurrency limit per instance. Default 8. */
  minLimit?: number;
  /** Concurrency limit of an instance before any latency was seen. Default 32. */
  initialLimit?: number;
  /** Calls waiting per service, at most. Default 1024. */
  maxQueue?: number;
  /** How often waiting calls are checked against their deadlines. Default 50 ms. */
  sweepMs?: number;
  now?: () => number;
}

/** A call waiting for, or holding, a place at an instance of its service. */
export interface AdmittedCall {
  readonly service: string;
  /** Absolute deadline (performance.now() clock); undefined for none. */
  readonly deadlineAt: number | undefined;
  readonly finished: boolean;
  /** Candidate instances (host:port). */
  readonly candidates: readonly string[];
  /** Forwards the call now: it holds a place until its first attempt starts. */
  admitted(): void;
  /** Refuses the call with this status and retry advice (grpc-retry-pushback-ms; 0 for none). */
  refused(code: number, message: string, pushbackMs: number): void;
}

export type AdmissionDecision = "now" | "queued" | "refused";

export interface Admission {
  /**
   * Decides at arrival: forward now, wait in the queue, or (already) refused. A call let in (now,
   * or later by admitted()) holds a place among its service's instances until its first attempt
   * starts or it is released: the instance is picked after admission, so the places must be
   * counted from the moment of the decision.
   */
  admit(call: AdmittedCall): AdmissionDecision;
  /**
   * An attempt of `service` on `address` started (counts toward its limit); `held`: the call's
   * first attempt, which takes the place its admission held.
   */
  started(service: string, address: string, held: boolean): void;
  /** A call let in ended before any attempt started: the place it held is free. */
  released(service: string): void;
  /** An attempt ended after latencyMs; frees its place and lets waiting calls of `service` in. */
  ended(service: string, address: string, latencyMs: number): void;
  /** The instance's current concurrency limit. */
  limitOf(address: string): number;
  /** Calls waiting per service now. */
  queued(service: string): number;
  close(): void;
}

interface InstanceLimit {
  inFlight: number;
  limit: number;
  /** Recent latency (fast EWMA) and the baseline it is compared with (slow EWMA), in ms. */
  shortMs: number;
  longMs: number;
}

interface ServiceQueue {
  calls: AdmittedCall[];
  /** The service's instances, as the last queued call saw them. */
  candidates: readonly string[];
  /** Latency of the service's recent attempts (EWMA), in ms; 0 before the first. */
  latencyMs: number;
  /** Attempts of the service in flight from this router, and the sum of their start times. */
  inFlight: number;
  startedSum: number;
  /** Calls let in whose first attempt has not started yet. */
  held: number;
}

/** Refusals advise retrying after this long at least, and at most. */
const minPushbackMs = 50;
const maxPushbackMs = 10_000;

export function createAdmission(options: AdmissionOptions = {}): Admission {
  const maxInFlight = options.maxInFlight ?? 1024;
  const minLimit = Math.min(options.minLimit ?? 8, maxInFlight);
  const initialLimit = Math.min(Math.max(options.initialLimit ?? 32, minLimit), maxInFlight);
  const maxQueue = options.maxQueue ?? 1024;
  const sweepMs = options.sweepMs ?? 50;
  const now = options.now ?? (() => performance.now());
  const instances = new Map<string, InstanceLimit>();
  const queues = new Map<string, ServiceQueue>();
  let sweeper: NodeJS.Timeout | undefined;

  const instance = (address: string): InstanceLimit => {
    let s = instances.get(address);
    if (s === undefined) {
      if (instances.size >= 10_000) instances.clear();
      s = { inFlight: 0, limit: initialLimit, shortMs: 0, longMs: 0 };
      instances.set(address, s);
    }
    return s;
  };

  /** Whether an instance has a place left once the calls let in but not started take theirs. */
  const hasRoom = (candidates: readonly string[], held: number): boolean => {
    let free = 0;
    for (const address of candidates) {
      const s = instances.get(address);
      free += s === undefined ? initialLimit : Math.max(0, Math.floor(s.limit) - s.inFlight);
      if (free > held) return true;
    }
    return false;
  };

  const queueOf = (service: string): ServiceQueue => {
    let q = queues.get(service);
    if (q === undefined) {
      if (queues.size >= 10_000) queues.clear();
      q = { calls: [], candidates: [], latencyMs: 0, inFlight: 0, startedSum: 0, held: 0 };
      queues.set(service, q);
    }
    return q;
  };

  /**
   * Calls per ms the service's instances finish for this router now, by Little's law: calls in
   * flight over their latency. The latency is the recent one, or, when calls have been in flight
   * longer than that on average, their mean age so far: a burst that slows every call shows at
   * once in the calls still running, long before the first of them finishes. 0 before any
   * latency was seen.
   */
  const rateOf = (q: ServiceQueue, at: number): number => {
    const meanAgeMs = q.inFlight > 0 ? at - q.startedSum / q.inFlight : 0;
    const latencyMs = Math.max(q.latencyMs, meanAgeMs);
    if (latencyMs <= 0) return 0;
    let inFlight = 0;
    for (const address of q.candidates) {
      const s = instances.get(address);
      if (s !== undefined) inFlight += Math.min(s.inFlight, s.limit);
    }
    return Math.max(1, inFlight) / latencyMs;
  };

  /** Expected wait of the call at `position` in the queue, in ms; undefined before any rate. */
  const waitFor = (rate: number, position: number): number | undefined =>
    rate > 0 ? (position + 1) / rate : undefined;

  const refuse = (
    call: AdmittedCall,
    q: ServiceQueue,
    rate: number,
    left: number,
    waitMs: number,
  ) => {
    // Retry once the calls waiting now are likely through.
    const pushbackMs = Math.round(
      Math.min(maxPushbackMs, Math.max(minPushbackMs, q.calls.length / Math.max(rate, 1e-3))),
    );
    call.refused(
      Code.Unavailable,
      Number.isFinite(waitMs)
        ? `"${call.service}" is overloaded: ${q.calls.length} calls wait for its instances here and this call would start in about ${Math.round(waitMs)} ms, after its deadline (${Math.max(0, Math.round(left))} ms left); retry after ${pushbackMs} ms`
        : `"${call.service}" is overloaded: its queue here is full (${q.calls.length} calls wait for its instances); retry after ${pushbackMs} ms`,
      pushbackMs,
    );
  };

  /** Lets waiting calls in while an instance has room; drops calls that finished meanwhile. */
  const drain = (q: ServiceQueue) => {
    while (q.calls.length > 0) {
      const head = q.calls[0] as AdmittedCall;
      if (head.finished) {
        q.calls.shift();
        continue;
      }
      if (!hasRoom(head.candidates, q.held)) return;
      q.calls.shift();
      q.held++;
      head.admitted();
    }
  };

  /** Refuses waiting calls that can no longer start before their deadlines. */
  const sweep = () => {
    const at = now();
    let waiting = 0;
    for (const q of queues.values()) {
      if (q.calls.length === 0) continue;
      const rate = rateOf(q, at);
      const kept: AdmittedCall[] = [];
      for (const call of q.calls) {
        if (call.finished) continue;
        const left =
          call.deadlineAt === undefined ? Number.POSITIVE_INFINITY : call.deadlineAt - at;
        const wait = waitFor(rate, kept.length);
        if (left <= 0) {
          call.refused(Code.DeadlineExceeded, "deadline exceeded while waiting for an instance", 0);
        } else if (wait !== undefined && wait > left) refuse(call, q, rate, left, wait);
        else kept.push(call);
      }
      q.calls = kept;
      waiting += kept.length;
    }
    if (waiting === 0 && sweeper !== undefined) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };

  return {
    admit(call) {
      const queue = queueOf(call.service);
      if (queue.calls.length === 0 && hasRoom(call.candidates, queue.held)) {
        queue.held++;
        return "now";
      }
      queue.candidates = call.candidates;
      const at = now();
      const left = call.deadlineAt === undefined ? Number.POSITIVE_INFINITY : call.deadlineAt - at;
      const rate = rateOf(queue, at);
      const wait = waitFor(rate, queue.calls.length);
      if (queue.calls.length >= maxQueue || (wait !== undefined && wait > left)) {
        const full = queue.calls.length >= maxQueue;
        refuse(
          call,
          queue,
          rate,
          left,
          full ? Number.POSITIVE_INFINITY : (wait ?? Number.POSITIVE_INFINITY),
        );
        return "refused";
      }
      queue.calls.push(call);
      if (sweeper === undefined) {
        sweeper = setInterval(sweep, sweepMs);
        sweeper.unref();
      }
      return "queued";
    },
    started(service, address, held) {
      instance(address).inFlight++;
      const q = queueOf(service);
      if (held && q.held > 0) q.held--;
      q.inFlight++;
      q.startedSum += now();
    },
    ended(service, address, latencyMs) {
      const s = instance(address);
      s.inFlight = Math.max(0, s.inFlight - 1);
      adapt(s, latencyMs);
      const q = queueOf(service);
      if (q.inFlight > 0) {
        q.inFlight--;
        q.startedSum = q.inFlight === 0 ? 0 : q.startedSum - (now() - Math.max(0, latencyMs));
      }
      if (latencyMs >= 0) {
        q.latencyMs = q.latencyMs === 0 ? latencyMs : 0.8 * q.latencyMs + 0.2 * latencyMs;
      }
      if (q.calls.length > 0) drain(q);
    },
    released(service) {
      const q = queues.get(service);
      if (q === undefined || q.held === 0) return;
      q.held--;
      if (q.calls.length > 0) drain(q);
    },
    limitOf: (address) => instances.get(address)?.limit ?? initialLimit,
    queued: (service) => queues.get(service)?.calls.length ?? 0,
    close() {
      if (sweeper !== undefined) clearInterval(sweeper);
      sweeper = undefined;
      for (const q of queues.values()) q.calls = [];
    },
  };

  /**
   * Gradient: the limit shrinks (to half at most per step) while recent latency exceeds twice
   * the baseline, and grows by about its square root while latency holds and the limit is used.
   */
  function adapt(s: InstanceLimit, latencyMs: number): void {
    if (!(latencyMs >= 0)) return;
    if (s.longMs === 0) {
      s.shortMs = latencyMs;
      s.longMs = latencyMs;
      return;
    }
    s.shortMs = 0.9 * s.shortMs + 0.1 * latencyMs;
    // The baseline follows improvements at once and degradations slowly.
    s.longMs = s.shortMs < s.longMs ? s.shortMs : 0.995 * s.longMs + 0.005 * s.shortMs;
    const gradient = Math.max(0.5, Math.min(1, (2 * s.longMs) / Math.max(s.shortMs, 1e-3)));
    // A limit not in use says nothing about the instance's capacity: do not grow it.
    if (gradient === 1 && s.inFlight < s.limit / 2) return;
    const target = s.limit * gradient + Math.sqrt(s.limit);
    s.limit = Math.min(maxInFlight, Math.max(minLimit, 0.8 * s.limit + 0.2 * target));
  }
}
