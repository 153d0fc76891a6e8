/**
 * Token buckets with injected time, and a bounded store of them (least recently used evicted).
 */

/** A bucket's shape: refill rate and size. */
export interface BucketLimit {
  /** Tokens added per minute. */
  perMinute: number;
  /** Bucket size: the most tokens it holds (the burst). */
  burst: number;
}

/** One token bucket; starts full. Time is passed in, in ms. */
export class TokenBucket {
  readonly #limit: BucketLimit;
  #tokens: number;
  #updatedAt: number;

  constructor(limit: BucketLimit, now: number) {
    this.#limit = limit;
    this.#tokens = limit.burst;
    this.#updatedAt = now;
  }

  /** Tokens held at `now` (fractional). */
  tokens(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  /** Ms until one token is available at `now`; 0 when one is. */
  waitMs(now: number): number {
    const missing = 1 - this.tokens(now);
    return missing <= 0 ? 0 : Math.ceil(missing * 60_000 / this.#limit.perMinute);
  }

  /** Takes one token (call after {@link waitMs} returned 0). */
  take(now: number): void {
    this.#refill(now);
    this.#tokens = Math.max(0, this.#tokens - 1);
  }

  #refill(now: number): void {
    const elapsed = now - this.#updatedAt;
    if (elapsed <= 0) return; // a clock stepping back adds nothing
    this.#tokens = Math.min(
      this.#limit.burst,
      this.#tokens + elapsed * this.#limit.perMinute / 60_000,
    );
    this.#updatedAt = now;
  }
}

/** Default most buckets one store keeps. */
export const DEFAULT_MAX_BUCKETS = 10_000;

/** Buckets by key, at most `maxBuckets`; the least recently used one goes first. */
export class BucketStore {
  readonly #buckets = new Map<string, TokenBucket>();
  readonly #maxBuckets: number;

  constructor(maxBuckets = DEFAULT_MAX_BUCKETS) {
    this.#maxBuckets = Math.max(1, maxBuckets);
  }

  /** Number of buckets held. */
  get size(): number {
    return this.#buckets.size;
  }

  /** The bucket for `key`, created full when missing (evicting the least recently used). */
  get(key: string, limit: BucketLimit, now: number): TokenBucket {
    let bucket = this.#buckets.get(key);
    if (bucket) {
      this.#buckets.delete(key); // re-insert: Map order is the recency order
    } else {
      bucket = new TokenBucket(limit, now);
      if (this.#buckets.size >= this.#maxBuckets) {
        const oldest = this.#buckets.keys().next();
        if (!oldest.done) this.#buckets.delete(oldest.value);
      }
    }
    this.#buckets.set(key, bucket);
    return bucket;
  }
}
