/**
 * `rate_limits`: token buckets per client and per (client, method). Every request takes a token
 * from each bucket that applies — but only when all have one, so a denial drains nothing.
 */
import type { RateLimit } from "./document.ts";
import { type BucketLimit, BucketStore, type TokenBucket } from "./token_bucket.ts";
import {
  ALLOW,
  deny,
  type PolicyContext,
  type PolicyRequest,
  type PolicyRule,
  type PolicyVerdict,
} from "./rule.ts";

/** Options of {@link RateLimitRule}. */
export interface RateLimitRuleOptions {
  /** One bucket per client for all its requests. Default: none. */
  perClient?: RateLimit;
  /** One bucket per (client, method), by method. Default: none. */
  perMethod?: Readonly<Record<string, RateLimit>>;
  /** Most buckets kept (least recently used evicted). Default 10,000. */
  maxBuckets?: number;
}

/** Denies a request when a bucket that applies to it is empty, saying when to retry. */
export class RateLimitRule implements PolicyRule {
  readonly #perClient: BucketLimit | undefined;
  readonly #perMethod: ReadonlyMap<string, BucketLimit>;
  readonly #store: BucketStore;

  constructor(opts: RateLimitRuleOptions) {
    this.#perClient = opts.perClient && toLimit(opts.perClient);
    this.#perMethod = new Map(
      Object.entries(opts.perMethod ?? {}).map(([method, limit]) => [method, toLimit(limit)]),
    );
    this.#store = new BucketStore(opts.maxBuckets);
  }

  /** Number of buckets held (for tests and metrics). */
  get bucketCount(): number {
    return this.#store.size;
  }

  /** Takes a token from each applicable bucket, or denies when one is empty. */
  check(request: PolicyRequest, ctx: PolicyContext): PolicyVerdict {
    const buckets: { bucket: TokenBucket; limit: BucketLimit; what: string }[] = [];
    if (this.#perClient) {
      const bucket = this.#store.get(`c:${request.clientPubkey}`, this.#perClient, ctx.now);
      buckets.push({ bucket, limit: this.#perClient, what: "requests" });
    }
    const methodLimit = this.#perMethod.get(request.method);
    if (methodLimit) {
      const key = `m:${request.clientPubkey}:${request.method}`;
      const bucket = this.#store.get(key, methodLimit, ctx.now);
      buckets.push({ bucket, limit: methodLimit, what: `${request.method} requests` });
    }
    let worst: { waitMs: number; limit: BucketLimit; what: string } | undefined;
    for (const { bucket, limit, what } of buckets) {
      const waitMs = bucket.waitMs(ctx.now);
      if (waitMs > 0 && (!worst || waitMs > worst.waitMs)) worst = { waitMs, limit, what };
    }
    if (worst) {
      const seconds = Math.max(1, Math.ceil(worst.waitMs / 1000));
      return deny(
        "rate-limited",
        `over ${worst.limit.perMinute} ${worst.what} a minute from this client; retry in ${seconds} s`,
      );
    }
    for (const { bucket } of buckets) bucket.take(ctx.now);
    return ALLOW;
  }
}

function toLimit(limit: RateLimit): BucketLimit {
  return { perMinute: limit.per_minute, burst: limit.burst ?? limit.per_minute };
}
