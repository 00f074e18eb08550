// Log-spaced latency buckets for percentiles: recording is one Math.log and an array increment,
// and a percentile read is one walk over the buckets, so nothing is sorted or stored per call.
//
// Bucket 0 holds durations up to 10 µs; bucket i holds (10 µs·g^(i-1), 10 µs·g^i] with g = 1.1,
// so an interpolated percentile is within about 5% of the true value, up to ~4 minutes.

const minMs = 0.01;
const growth = 1.1;
const logGrowth = Math.log(growth);

/** Buckets per histogram; the last one also takes everything slower. */
export const latencyBucketCount = 2 + Math.ceil(Math.log(240_000 / minMs) / logGrowth);

/** Upper bound of bucket i in milliseconds. */
export function bucketUpperMs(index: number): number {
  return minMs * growth ** index;
}

export function latencyBucket(ms: number): number {
  // Also catches NaN and negatives (a clock step backwards).
  if (!(ms > minMs)) return 0;
  const index = Math.ceil(Math.log(ms / minMs) / logGrowth);
  return index < latencyBucketCount ? index : latencyBucketCount - 1;
}

/**
 * The q-quantile (0..1) of `counts` in milliseconds, interpolated inside its bucket, or 0 when
 * the histogram is empty. `counts` may be a view over a larger array.
 */
export function quantileMs(counts: ArrayLike<number>, q: number): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i] ?? 0;
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const inBucket = counts[i] ?? 0;
    if (seen + inBucket >= rank) {
      const lower = i === 0 ? 0 : bucketUpperMs(i - 1);
      const upper = bucketUpperMs(i);
      return lower + ((upper - lower) * (rank - seen)) / inBucket;
    }
    seen += inBucket;
  }
  return bucketUpperMs(counts.length - 1);
}
