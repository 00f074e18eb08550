// Overload is refused early rather than timed out late. Each instance takes at most `limit`
// calls at once from this router: an adaptive concurrency limit (gradient of recent to baseline
// latency, as in Netflix's concurrency-limits and Envoy's adaptive concurrency), never above the
// circuit breaker's maxInFlight. Calls past every instance's limit wait in the service's FIFO
// queue, which turns processor sharing (every call late together) into calls served in order;
// a call that cannot start before its deadline at the rate calls are finishing is refused at
// once with UNAVAILABLE and grpc-retry-pushback-ms (gRFC A6). Each call is decided once: at
// arrival when the rate under the present load is known, else as soon as the first call of the
// burst finishes; a call kept then waits for its turn, and only its own deadline can end it.
import { Code } from "@connectrpc/connect";

export interface AdmissionOptions {
  /** Circuit breaker: most calls in flight to one instance from this router. Default 1024. */
  maxInFlight?: number;
  /** Lowest concurrency limit per instance. Default 8. */
  minLimit?: number;
  /** Concurrency limit of an instance before any latency was seen. Default 8. */
  initialLimit?: number;
  /** Calls waiting per service, at most. Default 1024. */
  maxQueue?: number;
  /** How often waiting calls are checked against their deadlines. Default 50 ms. */
  sweepMs?: number;
  /** A call was refused as overload (not for its own deadline), `waitedMs` after it arrived. */
  onRefused?: (service: string, waitedMs: number) => void;
  now?: () => number;
}

/** What overload control holds now, for gauges. */
export interface AdmissionState {
  /** Calls waiting, per service with any waiting. */
  queued: { service: string; calls: number }[];
  /** Concurrency limit of each instance this router used in the last 10 minutes. */
  limits: { address: string; limit: number }[];
}

/** A call waiting for, or holding, a place at an instance of its service. */
export interface AdmittedCall {
  readonly service: string;
  /** When the call arrived here (performance.now() clock). */
  readonly startedAt: number;
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
  state(): AdmissionState;
  close(): void;
}

interface InstanceLimit {
  inFlight: number;
  limit: number;
  /** Recent latency (fast EWMA) and the baseline it is compared with (slow EWMA), in ms. */
  shortMs: number;
  longMs: number;
  /** When an attempt last started on the instance. */
  usedAt: number;
}

interface ServiceQueue {
  calls: Waiting[];
  /**
   * The service's throughput under the present load, measured: since `busySince` (when calls
   * began to wait; undefined while none wait), `done` of its calls finished. It is known (`loaded`) once
   * as many finished as were running when the wait began: a full turnover, whatever order the
   * instances finish calls in (one at a time, or all together).
   */
  busySince: number | undefined;
  turnover: number;
  done: number;
  loaded: boolean;
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

/**
 * A waiting call. Once kept, on a rate measured under the present load, it is never refused for
 * overload: it waits for its turn or its deadline. Deciding once keeps every refusal early; the
 * rate's later swings (calls finish in bursts here) would otherwise refuse calls that waited long.
 */
interface Waiting {
  readonly call: AdmittedCall;
  kept: boolean;
}

/** Refusals advise retrying after this long at least, and at most. */
const minPushbackMs = 50;
const maxPushbackMs = 10_000;
/** An instance unused this long leaves the limits gauge. */
const instanceIdleMs = 10 * 60_000;

export function createAdmission(options: AdmissionOptions = {}): Admission {
  const maxInFlight = options.maxInFlight ?? 1024;
  const minLimit = Math.min(options.minLimit ?? 8, maxInFlight);
  const initialLimit = Math.min(Math.max(options.initialLimit ?? 8, minLimit), maxInFlight);
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
      s = { inFlight: 0, limit: initialLimit, shortMs: 0, longMs: 0, usedAt: 0 };
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
      q = {
        calls: [],
        busySince: undefined,
        turnover: 0,
        done: 0,
        loaded: false,
        candidates: [],
        latencyMs: 0,
        inFlight: 0,
        startedSum: 0,
        held: 0,
      };
      queues.set(service, q);
    }
    return q;
  };

  /**
   * Calls per ms the service's instances finish for this router, estimated before a wait's
   * throughput is measured, by Little's law: calls in flight over their latency. The latency is
   * the recent one, or, when calls have been in flight longer than that on average, their mean
   * age so far: a burst that slows every call shows at once in the calls still running, long
   * before the first of them finishes. It is optimistic (recent latencies may be from before the
   * load), so it only refuses calls that are late even so. 0 before any latency was seen.
   */
  const rateOf = (q: ServiceQueue, at: number): number => {
    const meanAgeMs = q.inFlight > 0 ? at - q.startedSum / q.inFlight : 0;
    const latencyMs = Math.max(q.latencyMs, meanAgeMs);
    if (latencyMs <= 0) return 0;
    // Calls wait only while every instance is full, so the instances run their limits' worth:
    // counting their limits rather than the calls started this instant keeps the estimate from
    // dipping while finished calls' places pass to waiting ones.
    let running = 0;
    for (const address of q.candidates)
      running += Math.floor(instances.get(address)?.limit ?? initialLimit);
    return Math.max(1, running) / latencyMs;
  };

  /** Calls per ms the service finishes for this router: measured once known, else estimated. */
  const currentRate = (q: ServiceQueue, at: number): number =>
    q.loaded && q.busySince !== undefined ? q.done / Math.max(1, at - q.busySince) : rateOf(q, at);

  /** No call waits any longer: the next wait measures the throughput afresh. */
  const idle = (q: ServiceQueue) => {
    q.busySince = undefined;
    q.done = 0;
    q.loaded = false;
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
    options.onRefused?.(call.service, now() - call.startedAt);
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
      const head = (q.calls[0] as Waiting).call;
      if (head.finished) {
        q.calls.shift();
        continue;
      }
      if (!hasRoom(head.candidates, q.held)) return;
      q.calls.shift();
      q.held++;
      head.admitted();
    }
    if (q.calls.length === 0) idle(q);
  };

  /**
   * Decides the waiting calls not decided yet: each that cannot start before its deadline is
   * refused; once a latency under load is known, the others are kept for good. A kept call ends
   * DEADLINE_EXCEEDED only if its deadline passes while it waits.
   */
  const decide = (q: ServiceQueue, at: number) => {
    if (q.calls.length === 0) return;
    const rate = currentRate(q, at);
    const remaining: Waiting[] = [];
    for (const w of q.calls) {
      const call = w.call;
      if (call.finished) continue;
      const left = call.deadlineAt === undefined ? Number.POSITIVE_INFINITY : call.deadlineAt - at;
      const wait = waitFor(rate, remaining.length);
      if (left <= 0) {
        call.refused(Code.DeadlineExceeded, "deadline exceeded while waiting for an instance", 0);
      } else if (!w.kept && wait !== undefined && wait > left) {
        refuse(call, q, rate, left, wait);
      } else {
        if (q.loaded) w.kept = true;
        remaining.push(w);
      }
    }
    q.calls = remaining;
    if (remaining.length === 0) idle(q);
  };

  const sweep = () => {
    const at = now();
    let waiting = 0;
    for (const q of queues.values()) {
      decide(q, at);
      waiting += q.calls.length;
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
      const rate = currentRate(queue, at);
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
      if (queue.busySince === undefined) {
        queue.busySince = at;
        queue.turnover = Math.max(1, queue.inFlight + queue.held);
      }
      queue.calls.push({ call, kept: queue.loaded });
      if (sweeper === undefined) {
        sweeper = setInterval(sweep, sweepMs);
        sweeper.unref();
      }
      return "queued";
    },
    started(service, address, held) {
      const s = instance(address);
      s.inFlight++;
      s.usedAt = now();
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
      if (q.busySince !== undefined) {
        const at = now();
        q.done++;
        // Under lasting overload the measurement keeps about the last second.
        if (at - q.busySince > 2000) {
          q.done *= 1000 / (at - q.busySince);
          q.busySince = at - 1000;
        }
        if (q.calls.length > 0) drain(q);
        // A full turnover: the throughput is known, and the calls that waited for it are decided.
        if (!q.loaded && q.done >= q.turnover && q.calls.length > 0) {
          q.loaded = true;
          decide(q, at);
        }
      }
    },
    released(service) {
      const q = queues.get(service);
      if (q === undefined || q.held === 0) return;
      q.held--;
      if (q.calls.length > 0) drain(q);
    },
    limitOf: (address) => instances.get(address)?.limit ?? initialLimit,
    queued: (service) => queues.get(service)?.calls.length ?? 0,
    state() {
      const at = now();
      const queued = [...queues]
        .filter(([, q]) => q.calls.length > 0)
        .map(([service, q]) => ({ service, calls: q.calls.length }));
      const limits = [...instances]
        .filter(([, s]) => s.inFlight > 0 || at - s.usedAt < instanceIdleMs)
        .map(([address, s]) => ({ address, limit: Math.floor(s.limit) }));
      return { queued, limits };
    },
    close() {
      if (sweeper !== undefined) clearInterval(sweeper);
      sweeper = undefined;
      for (const q of queues.values()) {
        q.calls = [];
        q.loaded = false;
      }
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
