// Per-second ring of call counts and latency histograms for one method or backend instance.
// A slot is zeroed the first time a call lands in a new second, so recording never allocates
// and reading the last N seconds only sums N slots.
import { latencyBucket, latencyBucketCount, quantileMs } from "./latency-histogram";

/** Rates and percentiles over the last complete seconds (the current, partial second is left out). */
export interface WindowSummary {
  requestsPerSecond: number;
  errorsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  /** Median time to the first response message, over calls that reported one (streams). */
  timeToFirstMessageP50Ms: number;
  messagesPerSecond: number;
}

/** Longest window a series can summarise, in seconds. */
export const maxWindowSeconds = 10;

// One slot more than the longest window: the current second is being written while read.
const slots = maxWindowSeconds + 1;

export class WindowSeries {
  private readonly second = new Float64Array(slots).fill(-1);
  private readonly calls = new Float64Array(slots);
  private readonly errors = new Float64Array(slots);
  private readonly messages = new Float64Array(slots);
  private readonly latency = new Uint32Array(slots * latencyBucketCount);
  // Most methods are unary; the first-message histogram exists only once a stream reports one.
  private firstMessage: Uint32Array | undefined;
  /** When the last call was recorded, in ms since the epoch. */
  lastRecordedMs = 0;

  /** `durationMs` undefined: the call counts in rates but not in the duration percentiles. */
  record(
    nowMs: number,
    durationMs: number | undefined,
    failed: boolean,
    messages: number,
    ttfbMs: number | undefined,
  ): void {
    const slot = this.slotFor(nowMs);
    this.lastRecordedMs = nowMs;
    this.calls[slot] = (this.calls[slot] ?? 0) + 1;
    if (failed) this.errors[slot] = (this.errors[slot] ?? 0) + 1;
    this.messages[slot] = (this.messages[slot] ?? 0) + messages;
    if (durationMs !== undefined) {
      const at = slot * latencyBucketCount + latencyBucket(durationMs);
      this.latency[at] = (this.latency[at] ?? 0) + 1;
    }
    if (ttfbMs !== undefined && ttfbMs >= 0) {
      this.firstMessage ??= new Uint32Array(slots * latencyBucketCount);
      const ft = slot * latencyBucketCount + latencyBucket(ttfbMs);
      this.firstMessage[ft] = (this.firstMessage[ft] ?? 0) + 1;
    }
  }

  /** Statistics over the `seconds` complete seconds before `nowMs` (1..maxWindowSeconds). */
  summarize(nowMs: number, seconds: number): WindowSummary {
    const span = Math.min(Math.max(Math.floor(seconds), 1), maxWindowSeconds);
    const current = Math.floor(nowMs / 1000);
    const latency = new Uint32Array(latencyBucketCount);
    const firstMessage = new Uint32Array(latencyBucketCount);
    let calls = 0;
    let errors = 0;
    let messages = 0;
    for (let s = current - span; s < current; s++) {
      const slot = s % slots;
      if (this.second[slot] !== s) continue;
      calls += this.calls[slot] ?? 0;
      errors += this.errors[slot] ?? 0;
      messages += this.messages[slot] ?? 0;
      addSlot(latency, this.latency, slot);
      if (this.firstMessage) addSlot(firstMessage, this.firstMessage, slot);
    }
    return {
      requestsPerSecond: calls / span,
      errorsPerSecond: errors / span,
      p50Ms: quantileMs(latency, 0.5),
      p95Ms: quantileMs(latency, 0.95),
      p99Ms: quantileMs(latency, 0.99),
      timeToFirstMessageP50Ms: quantileMs(firstMessage, 0.5),
      messagesPerSecond: messages / span,
    };
  }

  private slotFor(nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    const slot = second % slots;
    if (this.second[slot] !== second) {
      this.second[slot] = second;
      this.calls[slot] = 0;
      this.errors[slot] = 0;
      this.messages[slot] = 0;
      const from = slot * latencyBucketCount;
      this.latency.fill(0, from, from + latencyBucketCount);
      this.firstMessage?.fill(0, from, from + latencyBucketCount);
    }
    return slot;
  }
}

function addSlot(into: Uint32Array, from: Uint32Array, slot: number): void {
  const base = slot * latencyBucketCount;
  for (let i = 0; i < latencyBucketCount; i++) into[i] = (into[i] ?? 0) + (from[base + i] ?? 0);
}
