/**
 * Cost before trust: rate limits for requests from senders that are not connected clients of the
 * authorization they write to. Each such request would cost a worker job (verify, decrypt, sign,
 * encrypt) and an audit row, so it is charged on the main thread, before any of that, to a token
 * bucket of its sender pubkey and to one bucket shared by every unconnected sender. Connected
 * clients are never charged here (their policy's rate limits still apply to them).
 *
 * Memory is bounded. A sender's bucket is held until it is surely full again — the time an empty
 * one takes to refill (`burst` tokens: 30 s by default) after its last use; a full bucket says
 * nothing, since a sender seen for the first time starts full. Only requests that pass both
 * buckets create one, so a flood of random keys adds no more buckets than the global bucket lets
 * through (with the defaults at most 100 + 50/s × 30 s = 1,600). Past that, at most `maxSenders`
 * are held: when all are in use, a sender without a bucket is refused as if over its limit until
 * one expires — the senders held keep their budget, and a flood of new keys cannot evict a
 * flooder's empty bucket to hand it a fresh burst.
 */
import type { ActiveAuthorization } from "../domain/authorization.ts";
import { type BucketLimit, TokenBucket } from "../policy/token_bucket.ts";
import { isConnected } from "./connect.ts";

/** The limits of an {@link UnconnectedThrottle}. */
export interface UnconnectedLimits {
  /** Budget of one unconnected sender pubkey. Default 20 per minute, burst 10. */
  perSender: BucketLimit;
  /** Budget shared by every unconnected sender. Default 3,000 per minute (50/s), burst 100. */
  global: BucketLimit;
  /** Most sender buckets held at once. Default 10_000 (a few hundred bytes each). */
  maxSenders: number;
}

/** The defaults of {@link UnconnectedLimits}: a client pairing never notices them. */
export const DEFAULT_UNCONNECTED_LIMITS: UnconnectedLimits = {
  perSender: { perMinute: 20, burst: 10 },
  global: { perMinute: 3_000, burst: 100 },
  maxSenders: 10_000,
};

/** Drop reason: this sender's bucket is empty. */
export const SENDER_LIMITED = "unconnected sender over its rate limit";
/** Drop reason: the bucket shared by all unconnected senders is empty. */
export const GLOBAL_LIMITED = "unconnected senders over the global rate limit";
/** Drop reason: every sender bucket is in use, and this sender has none. */
export const TOO_MANY_SENDERS = "too many unconnected senders";

interface Sender {
  bucket: TokenBucket;
  /** When a token was last taken, in ms. */
  usedAt: number;
}

/** Token buckets per unconnected sender and for all of them; time is passed in, in ms. */
export class UnconnectedThrottle {
  readonly #limits: UnconnectedLimits;
  readonly #global: TokenBucket;
  /** In `usedAt` order (re-inserted on use), so expired buckets are at the front. */
  readonly #senders = new Map<string, Sender>();
  /** How long an emptied sender bucket takes to be full again, in ms. */
  readonly #refillMs: number;

  /** Throws a RangeError when a limit is not usable. */
  constructor(limits: Partial<UnconnectedLimits> = {}, now: number) {
    const resolved = { ...DEFAULT_UNCONNECTED_LIMITS, ...limits };
    checkLimit("perSender", resolved.perSender);
    checkLimit("global", resolved.global);
    if (!Number.isSafeInteger(resolved.maxSenders) || resolved.maxSenders < 1) {
      throw new RangeError(
        `Cannot limit unconnected senders to "${resolved.maxSenders}": need an integer ≥ 1`,
      );
    }
    this.#limits = resolved;
    this.#global = new TokenBucket(resolved.global, now);
    this.#refillMs = Math.ceil(resolved.perSender.burst * 60_000 / resolved.perSender.perMinute);
  }

  /** Sender buckets held. */
  get senders(): number {
    return this.#senders.size;
  }

  /**
   * The throttle stage: a request from `senderPubkey` to `authorization` at `now` (ms) is free
   * when the sender is a connected client of it, else {@link admit}ted. The sender is not verified
   * yet: a forged event in a connected client's name passes here, and is dropped in the worker.
   * Returns the drop reason, or undefined.
   */
  charge(
    authorization: ActiveAuthorization,
    senderPubkey: string,
    now: number,
  ): string | undefined {
    return isConnected(authorization, senderPubkey) ? undefined : this.admit(senderPubkey, now);
  }

  /**
   * Charges one request from `senderPubkey` at `now` to its bucket and the global one. Returns
   * undefined when admitted (a token taken from each), else the drop reason (nothing taken: a
   * sender over its own limit does not spend the budget of the others).
   */
  admit(senderPubkey: string, now: number): string | undefined {
    this.#prune(now);
    const held = this.#senders.get(senderPubkey);
    if (held && held.bucket.waitMs(now) > 0) return SENDER_LIMITED;
    if (this.#global.waitMs(now) > 0) return GLOBAL_LIMITED;
    if (!held && this.#senders.size >= this.#limits.maxSenders) return TOO_MANY_SENDERS;
    const bucket = held?.bucket ?? new TokenBucket(this.#limits.perSender, now);
    bucket.take(now);
    this.#global.take(now);
    this.#senders.delete(senderPubkey);
    this.#senders.set(senderPubkey, { bucket, usedAt: now });
    return undefined;
  }

  /** Forgets the buckets that are full again (the oldest first; stops at the first that is not). */
  #prune(now: number): void {
    for (const [senderPubkey, sender] of this.#senders) {
      if (sender.usedAt + this.#refillMs > now) return;
      this.#senders.delete(senderPubkey);
    }
  }
}

function checkLimit(name: string, limit: BucketLimit): void {
  if (!(limit.perMinute > 0) || !Number.isFinite(limit.perMinute) || !(limit.burst >= 1)) {
    throw new RangeError(
      `Cannot use the ${name} limit "${JSON.stringify(limit)}": need perMinute > 0 and burst ≥ 1`,
    );
  }
}
