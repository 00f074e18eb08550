// Token buckets keyed by caller: a steady rate with room for a burst.

export interface RateLimiter {
  /** Takes one token for the key; returns 0 when allowed, else the ms until one is free. */
  take(key: string, now?: number): number;
}

export function createRateLimiter(options: { perSecond: number; burst: number }): RateLimiter {
  const { perSecond, burst } = options;
  const buckets = new Map<string, { tokens: number; at: number }>();

  const refill = (bucket: { tokens: number; at: number }, now: number) => {
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
  };

  return {
    take(key, now = Date.now()) {
      if (buckets.size > 10_000) {
        // Full buckets carry no state worth keeping.
        for (const [k, b] of buckets) {
          refill(b, now);
          if (b.tokens >= burst) buckets.delete(k);
        }
      }
      let bucket = buckets.get(key);
      if (!bucket) {
        bucket = { tokens: burst, at: now };
        buckets.set(key, bucket);
      }
      refill(bucket, now);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.ceil(((1 - bucket.tokens) / perSecond) * 1000);
    },
  };
}
