/**
 * Cost before trust: rate limits for requests from senders that are not connected clients of the
 * authorization they write to. Each such request would cost a worker job (verify, decrypt, sign,
 * encrypt) and an audit row, so it is charged on the main thread, before any of that, to three
 * token buckets: its sender pubkey's, its bunker pubkey's (the `#p` it is addressed to) and one
 * shared by every unconnected sender. The bunker's bucket keeps a flood aimed at one bunker from
 * spending the shared budget that pairings with every other bunker need. Connected clients are
 * never charged here (their policy's rate limits still apply to them).
 *
 * The audit rows of the requests admitted are limited again, all together
 * ({@link UnconnectedThrottle.admitReport}): random sender keys pass the per-sender limits of the
 * audit writer one by one, and must not fill the audit table.
 *
 * Memory is bounded (see `buckets.ts`: a bucket is held until it is full again). Only requests
 * that pass every bucket create one, so a flood of random keys adds no more buckets than the
 * global bucket lets through: with the defaults at most 400 + 200/s × 30 s = 6,400 sender buckets
 * and 400 + 200/s × 3 s = 1,000 bunker buckets. Past that, at most `maxSenders` sender buckets are
 * held: when all are in use, a sender without one is refused as if over its limit until one
 * expires — the senders held keep their budget, and a flood of new keys cannot evict a flooder's
 * empty bucket to hand it a fresh burst. At most `maxBunkers` bunker buckets are held, the least
 * recently used one forgotten for a new one: bunker pubkeys are only those we serve, and a
 * forgotten bucket belongs to a bunker that was quiet, so its fresh burst costs nothing.
 */
import type { ActiveAuthorization } from "../domain/authorization.ts";
import { type BucketLimit, TokenBucket } from "../policy/token_bucket.ts";
import { checkLimit, ExpiringBuckets } from "./buckets.ts";
import { isConnected } from "./connect.ts";

/** The limits of an {@link UnconnectedThrottle}. */
export interface UnconnectedLimits {
  /** Budget of one unconnected sender pubkey. Default 20 per minute, burst 10. */
  perSender: BucketLimit;
  /**
   * Budget of the unconnected senders of one bunker pubkey, together. Default 1,200 per minute
   * (20/s), burst 60.
   */
  perBunker: BucketLimit;
  /** Budget shared by every unconnected sender. Default 12,000 per minute (200/s), burst 400. */
  global: BucketLimit;
  /**
   * Decisions about unconnected senders reported to `onDecision` (audit rows, request metrics),
   * all of them together; the rest are only counted. Default 600 per minute (10/s), burst 100.
   */
  auditRows: BucketLimit;
  /** Most sender buckets held at once. Default 10_000 (a few hundred bytes each). */
  maxSenders: number;
  /** Most bunker buckets held at once (the least recently used goes). Default 10_000. */
  maxBunkers: number;
}

/** The defaults of {@link UnconnectedLimits}: a client pairing never notices them. */
export const DEFAULT_UNCONNECTED_LIMITS: UnconnectedLimits = {
  perSender: { perMinute: 20, burst: 10 },
  perBunker: { perMinute: 1_200, burst: 60 },
  global: { perMinute: 12_000, burst: 400 },
  auditRows: { perMinute: 600, burst: 100 },
  maxSenders: 10_000,
  maxBunkers: 10_000,
};

/** Drop reason: this sender's bucket is empty. */
export const SENDER_LIMITED = "unconnected sender over its rate limit";
/** Drop reason: the bucket of the unconnected senders of this bunker pubkey is empty. */
export const BUNKER_LIMITED = "unconnected senders of this bunker over their rate limit";
/** Drop reason: the bucket shared by all unconnected senders is empty. */
export const GLOBAL_LIMITED = "unconnected senders over the global rate limit";
/** Drop reason: every sender bucket is in use, and this sender has none. */
export const TOO_MANY_SENDERS = "too many unconnected senders";

/** Token buckets per unconnected sender, per bunker and for all; time is passed in, in ms. */
export class UnconnectedThrottle {
  readonly #senders: ExpiringBuckets;
  readonly #bunkers: ExpiringBuckets;
  readonly #global: TokenBucket;
  readonly #auditRows: TokenBucket;

  /** Throws a RangeError when a limit is not usable. */
  constructor(limits: Partial<UnconnectedLimits> = {}, now: number) {
    const resolved = { ...DEFAULT_UNCONNECTED_LIMITS, ...limits };
    checkLimit("global", resolved.global);
    checkLimit("auditRows", resolved.auditRows);
    this.#senders = new ExpiringBuckets("perSender", resolved.perSender, resolved.maxSenders);
    this.#bunkers = new ExpiringBuckets("perBunker", resolved.perBunker, resolved.maxBunkers);
    this.#global = new TokenBucket(resolved.global, now);
    this.#auditRows = new TokenBucket(resolved.auditRows, now);
  }

  /** Sender buckets held. */
  get senders(): number {
    return this.#senders.size;
  }

  /** Bunker buckets held. */
  get bunkers(): number {
    return this.#bunkers.size;
  }

  /**
   * The throttle stage: a request from `senderPubkey` to `authorization` at `now` (ms) is free
   * when the sender is a connected client of it, else {@link admit}ted. The sender is not verified
   * yet: a forged event in a connected client's name passes here; it is dropped, with no effect,
   * once a worker finds its signature invalid. Returns the drop reason, or undefined.
   */
  charge(
    authorization: ActiveAuthorization,
    senderPubkey: string,
    now: number,
  ): string | undefined {
    return isConnected(authorization, senderPubkey)
      ? undefined
      : this.admit(senderPubkey, authorization.bunkerPubkey, now);
  }

  /**
   * Charges one request from `senderPubkey` to `bunkerPubkey` at `now` to the sender's, the
   * bunker's and the global bucket. Returns undefined when admitted (a token taken from each),
   * else the drop reason (nothing taken: a sender over its own limit does not spend the budget of
   * the others, nor a flooded bunker that of the other bunkers).
   */
  admit(senderPubkey: string, bunkerPubkey: string, now: number): string | undefined {
    if (!this.#senders.ready(senderPubkey, now)) return SENDER_LIMITED;
    if (!this.#bunkers.ready(bunkerPubkey, now)) return BUNKER_LIMITED;
    if (this.#global.waitMs(now) > 0) return GLOBAL_LIMITED;
    if (!this.#senders.has(senderPubkey, now) && this.#senders.full(now)) return TOO_MANY_SENDERS;
    this.#senders.take(senderPubkey, now);
    this.#bunkers.take(bunkerPubkey, now);
    this.#global.take(now);
    return undefined;
  }

  /**
   * Whether the decision about an unconnected sender's request, at `now` (ms), may be reported
   * (an audit row): takes a token from the budget all of them share, or returns false.
   */
  admitReport(now: number): boolean {
    if (this.#auditRows.waitMs(now) > 0) return false;
    this.#auditRows.take(now);
    return true;
  }
}
