// What the router counts about the calls it forwards: one `record` per finished call from the
// forwarding path, gauges for calls in progress, and registry/balancer events. Everything lives
// in preallocated arrays keyed by interned strings, so the hot path does map lookups and array
// increments only; statistics and the Prometheus text are computed when someone asks.
import type { AdmissionState } from "../admission";
import { WindowSeries } from "./window-series";

export interface CallRecord {
  /** Full method path, e.g. "/agentplatform.v1.AgentService/ExecuteTask". */
  method: string;
  /** Registry service the call was routed to ("agent-echo"), or "" when none was resolved. */
  service: string;
  /** host:port of the instance that answered, or "" when none was reached. */
  backend: string;
  /** gRPC status code number (0 = OK). */
  code: number;
  durationMs: number;
  /**
   * Server-streaming call: its duration is how long the stream stayed open, not latency, so it is
   * left out of the router-wide and per-instance percentiles (its method's own series keeps it).
   * Default false.
   */
  streaming?: boolean;
  /** Time to the first response message; give it for streaming calls only. */
  ttfbMs?: number | undefined;
  /** Response messages sent to the caller. */
  messages: number;
  /** True when the call needed at least one retry. */
  retried: boolean;
}

export interface CallRecorderOptions {
  /** Clock in ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Dial-in links held now, for the links gauge. Default: always 0. */
  dialInLinks?: () => number;
  /** Overload control's queues and limits now, for their gauges. Default: none. */
  admission?: () => AdmissionState;
  /**
   * Distinct methods, services and backends each tracked before further names are counted under
   * "other", so unexpected paths cannot grow memory or label cardinality. Default 256.
   */
  maxSeries?: number;
  /** A backend with no call and nothing in flight for this long is forgotten. Default 10 minutes. */
  backendIdleMs?: number;
}

/** Prometheus histogram bounds for call durations, in seconds. */
export const durationBoundsSeconds = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** Name used for series beyond `maxSeries`. */
export const overflowSeries = "other";

export interface MethodSeries {
  readonly method: string;
  readonly window: WindowSeries;
  inFlight: number;
  activeStreams: number;
  totalCalls: number;
  totalErrors: number;
  /** Per-bucket (not cumulative) counts over durationBoundsSeconds, then +Inf. */
  readonly durationBuckets: Float64Array;
  durationSumSeconds: number;
}

export interface BackendSeries {
  readonly address: string;
  service: string;
  readonly window: WindowSeries;
  inFlight: number;
  activeStreams: number;
  ejected: boolean;
  consecutiveFailures: number;
  totalCalls: number;
  totalErrors: number;
  lastSeenMs: number;
}

export interface ServiceSeries {
  readonly service: string;
  /** Calls by method, indexed by gRPC code 0..16. */
  readonly codes: Map<string, Float64Array>;
  retries: number;
  ejections: number;
  /** When the registry last answered for this service; 0 when it never has. */
  answeredAtMs: number;
  /** Since when the last known instances are held against an empty registry answer; 0 when not. */
  heldSinceMs: number;
  /** Calls refused by overload control. */
  overloadRefusals: number;
}

/** Time from arrival to refusal of the calls overload control refused, router-wide. */
export interface RefusalWaits {
  /** Per-bucket (not cumulative) counts over durationBoundsSeconds, then +Inf. */
  readonly buckets: Float64Array;
  sumSeconds: number;
}

/** The recorder's state, read by the statistics and exposition code beside it. */
export interface RecorderState {
  readonly now: () => number;
  readonly dialInLinks: () => number;
  readonly admission: (() => AdmissionState) | undefined;
  readonly refusalWaits: RefusalWaits;
  readonly total: MethodSeries;
  readonly methods: Map<string, MethodSeries>;
  readonly backends: Map<string, BackendSeries>;
  readonly services: Map<string, ServiceSeries>;
  readonly backendIdleMs: number;
}

export interface CallRecorder {
  /** Call once per finished call (after its trailers were sent or it failed). */
  record(call: CallRecord): void;
  /** A call began; pass the same method and backend to callEnded. `backend` may be "". */
  callStarted(method: string, backend: string, streaming?: boolean): void;
  callEnded(method: string, backend: string, streaming?: boolean): void;
  /** The balancer took an instance out of rotation. */
  ejected(service: string, backend: string): void;
  /** The balancer put an ejected instance back. */
  readmitted(service: string, backend: string): void;
  /** The registry answered for a service (its staleness gauge restarts at 0). */
  registryAnswered(service: string): void;
  /** The router stopped watching a service; its staleness gauge disappears. */
  registryForgotten(service: string): void;
  /**
   * The registry came back listing no healthy instance of a service and the last known ones are
   * held (since `sinceMs`), or the hold ended (undefined).
   */
  registryHeld(service: string, sinceMs: number | undefined): void;
  /** Overload control refused a call of `service`, `waitedMs` after it arrived. */
  overloadRefused(service: string, waitedMs: number): void;
  /** Read-only view for statistics and exposition. */
  readonly state: RecorderState;
  /** Releases what the recorder holds (nothing today; kept for callers that stop it). */
  close(): void;
}

// Only UNAVAILABLE says the instance, not the request, is at fault (the balancer's rule too).
const unavailableCode = 14;
const codeCount = 17;
const unknownCode = 2;

export function createCallRecorder(options: CallRecorderOptions = {}): CallRecorder {
  const now = options.now ?? Date.now;
  const maxSeries = options.maxSeries ?? 256;
  const state: RecorderState = {
    now,
    dialInLinks: options.dialInLinks ?? (() => 0),
    admission: options.admission,
    refusalWaits: { buckets: new Float64Array(durationBoundsSeconds.length + 1), sumSeconds: 0 },
    total: newMethodSeries(""),
    methods: new Map(),
    backends: new Map(),
    services: new Map(),
    backendIdleMs: options.backendIdleMs ?? 10 * 60_000,
  };
  const { methods, backends, services } = state;

  const methodSeries = (method: string): MethodSeries => {
    let series = methods.get(method);
    if (series === undefined) {
      const name = methods.size < maxSeries ? method : overflowSeries;
      series = methods.get(name) ?? newMethodSeries(name);
      methods.set(name, series);
    }
    return series;
  };
  const backendSeries = (address: string, service: string): BackendSeries => {
    let series = backends.get(address);
    if (series === undefined) {
      const name = backends.size < maxSeries ? address : overflowSeries;
      series = backends.get(name) ?? newBackendSeries(name, service);
      backends.set(name, series);
    }
    return series;
  };
  const serviceSeries = (service: string): ServiceSeries => {
    let series = services.get(service);
    if (series === undefined) {
      const name = services.size < maxSeries ? service : overflowSeries;
      series = services.get(name) ?? newServiceSeries(name);
      services.set(name, series);
    }
    return series;
  };

  return {
    state,
    record(call) {
      const at = now();
      const failed = call.code !== 0;
      const m = methodSeries(call.method);
      // Per-method series are labelled, so a stream's method may keep its own duration
      // percentiles; the router-wide and per-instance ones are for unary calls only.
      const latencyMs = call.streaming === true ? undefined : call.durationMs;
      countDuration(m, call, at, failed, call.durationMs);
      countDuration(state.total, call, at, failed, latencyMs);

      const s = serviceSeries(call.service);
      let codes = s.codes.get(m.method);
      if (codes === undefined) {
        codes = new Float64Array(codeCount);
        s.codes.set(m.method, codes);
      }
      const code = call.code >= 0 && call.code < codeCount ? call.code : unknownCode;
      codes[code] = (codes[code] ?? 0) + 1;
      if (call.retried) s.retries++;

      if (call.backend !== "") {
        const b = backendSeries(call.backend, call.service);
        if (call.service !== "") b.service = call.service;
        b.lastSeenMs = at;
        b.totalCalls++;
        if (failed) b.totalErrors++;
        b.consecutiveFailures = code === unavailableCode ? b.consecutiveFailures + 1 : 0;
        b.window.record(at, latencyMs, failed, call.messages, call.ttfbMs);
      }
    },
    callStarted(method, backend, streaming = false) {
      const m = methodSeries(method);
      adjustGauges(m, state.total, 1, streaming);
      if (backend !== "") {
        // No clock read here: a backend with calls in flight is never forgotten anyway.
        const b = backendSeries(backend, "");
        b.inFlight++;
        if (streaming) b.activeStreams++;
      }
    },
    callEnded(method, backend, streaming = false) {
      const m = methodSeries(method);
      adjustGauges(m, state.total, -1, streaming);
      if (backend !== "") {
        const b = backends.get(backend) ?? backends.get(overflowSeries);
        if (b === undefined) return;
        b.inFlight = Math.max(0, b.inFlight - 1);
        if (streaming) b.activeStreams = Math.max(0, b.activeStreams - 1);
      }
    },
    ejected(service, backend) {
      serviceSeries(service).ejections++;
      const b = backendSeries(backend, service);
      b.ejected = true;
      b.lastSeenMs = now();
    },
    readmitted(service, backend) {
      const b = backends.get(backend);
      if (b === undefined) return;
      b.ejected = false;
      b.consecutiveFailures = 0;
      if (service !== "") b.service = service;
    },
    registryAnswered(service) {
      serviceSeries(service).answeredAtMs = now();
    },
    registryForgotten(service) {
      const s = services.get(service);
      if (s) {
        s.answeredAtMs = 0;
        s.heldSinceMs = 0;
      }
    },
    registryHeld(service, sinceMs) {
      const s = services.get(service);
      if (sinceMs !== undefined) serviceSeries(service).heldSinceMs = sinceMs;
      else if (s) s.heldSinceMs = 0;
    },
    overloadRefused(service, waitedMs) {
      serviceSeries(service).overloadRefusals++;
      const seconds = Math.max(0, waitedMs) / 1000;
      state.refusalWaits.sumSeconds += seconds;
      countInBucket(state.refusalWaits.buckets, seconds);
    },
    close() {},
  };
}

/** Counts `seconds` in its bucket over durationBoundsSeconds (the last one is +Inf). */
function countInBucket(buckets: Float64Array, seconds: number): void {
  let bucket = 0;
  while (bucket < durationBoundsSeconds.length && seconds > (durationBoundsSeconds[bucket] ?? 0)) {
    bucket++;
  }
  buckets[bucket] = (buckets[bucket] ?? 0) + 1;
}

function countDuration(
  m: MethodSeries,
  call: CallRecord,
  at: number,
  failed: boolean,
  latencyMs: number | undefined,
): void {
  m.totalCalls++;
  if (failed) m.totalErrors++;
  const seconds = call.durationMs / 1000;
  m.durationSumSeconds += seconds;
  countInBucket(m.durationBuckets, seconds);
  m.window.record(at, latencyMs, failed, call.messages, call.ttfbMs);
}

function adjustGauges(m: MethodSeries, total: MethodSeries, by: 1 | -1, streaming: boolean): void {
  m.inFlight = Math.max(0, m.inFlight + by);
  total.inFlight = Math.max(0, total.inFlight + by);
  if (streaming) {
    m.activeStreams = Math.max(0, m.activeStreams + by);
    total.activeStreams = Math.max(0, total.activeStreams + by);
  }
}

function newMethodSeries(method: string): MethodSeries {
  return {
    method,
    window: new WindowSeries(),
    inFlight: 0,
    activeStreams: 0,
    totalCalls: 0,
    totalErrors: 0,
    durationBuckets: new Float64Array(durationBoundsSeconds.length + 1),
    durationSumSeconds: 0,
  };
}

function newBackendSeries(address: string, service: string): BackendSeries {
  return {
    address,
    service,
    window: new WindowSeries(),
    inFlight: 0,
    activeStreams: 0,
    ejected: false,
    consecutiveFailures: 0,
    totalCalls: 0,
    totalErrors: 0,
    lastSeenMs: 0,
  };
}

function newServiceSeries(service: string): ServiceSeries {
  return {
    service,
    codes: new Map(),
    retries: 0,
    ejections: 0,
    answeredAtMs: 0,
    heldSinceMs: 0,
    overloadRefusals: 0,
  };
}
