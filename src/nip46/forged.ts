/**
 * Forged events in a connected client's name. Connected clients are not charged by the throttle
 * (`throttle.ts`), and a signature is only checked in a worker, so events claiming a connected
 * client's pubkey with a bad signature would each cost a worker job, without limit. What is
 * counted here are those failures: a token bucket per (bunker pubkey, claimed sender pubkey,
 * relay) of events whose signature turned out invalid.
 *
 * - A key that never had a forgery has no bucket, and nothing is limited or counted for it.
 * - Once one is seen, events of that key go to a worker only while its bucket holds more tokens
 *   than events of that key already in flight. An event whose signature holds gives its place
 *   back; one that fails takes a token. The real client's own requests never empty the bucket.
 * - A forger cannot shut the real client out. The budget is per relay: a copy of the client's
 *   request dropped here is forgotten as seen, so the copy arriving through a relay the forger
 *   does not flood is served. And it refills: even with every relay flooded, a request gets through
 *   each refill interval, and the bucket is forgotten once the forgeries stop long enough for it
 *   to be full again.
 * - Memory is bounded: at most `maxClaims` buckets (the least recently used one goes), and an
 *   in-flight count only while such an event is in a worker.
 */
import type { BucketLimit } from "../policy/token_bucket.ts";
import { ExpiringBuckets } from "./buckets.ts";

/** The limits of a {@link ForgedThrottle}. */
export interface ForgedLimits {
  /**
   * Events with an invalid signature tolerated per (bunker, claimed sender, relay). Default 60
   * per minute, burst 20.
   */
  perClaim: BucketLimit;
  /** Most buckets held at once (the least recently used goes). Default 10_000. */
  maxClaims: number;
}

/** The defaults of {@link ForgedLimits}. */
export const DEFAULT_FORGED_LIMITS: ForgedLimits = {
  perClaim: { perMinute: 60, burst: 20 },
  maxClaims: 10_000,
};

/** Drop reason: events claiming this sender through this relay failed their signature too often. */
export const FORGED_LIMITED = "claimed sender over its budget of invalid signatures";

/** What {@link ForgedThrottle.admit} answers; hand it back to {@link ForgedThrottle.settle}. */
export type ForgedClaim =
  | { admitted: false; reason: string }
  | { admitted: true; key: string; tracked: boolean };

/** Admission of an event that is not charged at all (a stranger's: the throttle limits it). */
export const UNTRACKED: ForgedClaim = { admitted: true, key: "", tracked: false };

/** Buckets of invalid signatures per claimed sender; time is passed in, in ms. */
export class ForgedThrottle {
  readonly #buckets: ExpiringBuckets;
  /** Tracked events in a worker, by key. */
  readonly #inflight = new Map<string, number>();

  /** Throws a RangeError when a limit is not usable. */
  constructor(limits: Partial<ForgedLimits> = {}) {
    const resolved = { ...DEFAULT_FORGED_LIMITS, ...limits };
    this.#buckets = new ExpiringBuckets("perClaim", resolved.perClaim, resolved.maxClaims);
  }

  /** Buckets held. */
  get claims(): number {
    return this.#buckets.size;
  }

  /**
   * Whether an event from `relayUrl` to `bunkerPubkey` claiming `claimedPubkey`, not verified yet,
   * may go to a worker at `now` (ms). Call {@link settle} with the answer once it was verified.
   */
  admit(bunkerPubkey: string, claimedPubkey: string, relayUrl: string, now: number): ForgedClaim {
    const key = `${bunkerPubkey}:${claimedPubkey}:${relayUrl}`;
    if (!this.#buckets.has(key, now)) return { admitted: true, key, tracked: false };
    const inflight = this.#inflight.get(key) ?? 0;
    if (this.#buckets.tokens(key, now) - inflight < 1) {
      return { admitted: false, reason: FORGED_LIMITED };
    }
    this.#inflight.set(key, inflight + 1);
    return { admitted: true, key, tracked: true };
  }

  /** The event of `claim` was checked at `now` (ms): `forged` when its signature was invalid. */
  settle(claim: ForgedClaim, forged: boolean, now: number): void {
    if (!claim.admitted || claim.key === "") return;
    if (claim.tracked) {
      const inflight = (this.#inflight.get(claim.key) ?? 1) - 1;
      if (inflight > 0) this.#inflight.set(claim.key, inflight);
      else this.#inflight.delete(claim.key);
    }
    if (forged) this.#buckets.take(claim.key, now);
  }
}
