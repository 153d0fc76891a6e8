/**
 * Token buckets by key, with bounded memory, for the listener's limits on untrusted traffic. A
 * bucket is held until it is surely full again — the time an empty one takes to refill — after a
 * token was last taken from it: a full bucket says nothing, since a key seen for the first time
 * starts full. Every bucket of one set has the same limit, so the order of last use is the order
 * of expiry and pruning only looks at the oldest.
 */
import { type BucketLimit, TokenBucket } from "../policy/token_bucket.ts";

interface Held {
  bucket: TokenBucket;
  /** When a token was last taken, in ms. */
  usedAt: number;
}

/** Buckets of one {@link BucketLimit} by key, at most `maxKeys`; time is passed in, in ms. */
export class ExpiringBuckets {
  readonly #limit: BucketLimit;
  readonly #maxKeys: number;
  /** How long an emptied bucket takes to be full again, in ms. */
  readonly #refillMs: number;
  /** In `usedAt` order (re-inserted on use), so expired buckets are at the front. */
  readonly #held = new Map<string, Held>();

  /** Throws a RangeError when `limit` or `maxKeys` is not usable; `name` goes in the message. */
  constructor(name: string, limit: BucketLimit, maxKeys: number) {
    checkLimit(name, limit);
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new RangeError(`Cannot hold "${maxKeys}" ${name} buckets: need an integer ≥ 1`);
    }
    this.#limit = limit;
    this.#maxKeys = maxKeys;
    this.#refillMs = Math.ceil(limit.burst * 60_000 / limit.perMinute);
  }

  /** Buckets held. */
  get size(): number {
    return this.#held.size;
  }

  /** True when every bucket is in use at `now`, so a new key could only get one by eviction. */
  full(now: number): boolean {
    this.#prune(now);
    return this.#held.size >= this.#maxKeys;
  }

  /** True when `key` has a bucket at `now` (it took a token and has not refilled since). */
  has(key: string, now: number): boolean {
    this.#prune(now);
    return this.#held.has(key);
  }

  /** Tokens of `key` at `now`: `burst` for a key without a bucket. */
  tokens(key: string, now: number): number {
    this.#prune(now);
    return this.#held.get(key)?.bucket.tokens(now) ?? this.#limit.burst;
  }

  /** True when `key` has a token at `now` (a key without a bucket has a full one). */
  ready(key: string, now: number): boolean {
    this.#prune(now);
    const held = this.#held.get(key);
    return held === undefined || held.bucket.waitMs(now) === 0;
  }

  /**
   * Takes a token of `key` at `now` (none left: stays empty), creating its bucket full; when
   * every bucket is in use, the least recently used one is forgotten to make room.
   */
  take(key: string, now: number): void {
    this.#prune(now);
    const held = this.#held.get(key);
    if (!held && this.#held.size >= this.#maxKeys) {
      const oldest = this.#held.keys().next();
      if (!oldest.done) this.#held.delete(oldest.value);
    }
    const bucket = held?.bucket ?? new TokenBucket(this.#limit, now);
    bucket.take(now);
    this.#held.delete(key);
    this.#held.set(key, { bucket, usedAt: now });
  }

  /** Forgets the buckets that are full again (the oldest first; stops at the first that is not). */
  #prune(now: number): void {
    for (const [key, held] of this.#held) {
      if (held.usedAt + this.#refillMs > now) return;
      this.#held.delete(key);
    }
  }
}

/** Throws a RangeError unless `limit` has `perMinute > 0` (finite) and `burst ≥ 1`. */
export function checkLimit(name: string, limit: BucketLimit): void {
  if (!(limit.perMinute > 0) || !Number.isFinite(limit.perMinute) || !(limit.burst >= 1)) {
    throw new RangeError(
      `Cannot use the ${name} limit "${JSON.stringify(limit)}": need perMinute > 0 and burst ≥ 1`,
    );
  }
}
