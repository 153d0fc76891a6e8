/**
 * The relay side of partitioning: stands between the authorization directory and the relay pool
 * and passes on only the bunkers whose slot this instance serves (`slots.ts`). It remembers every
 * bunker the directory wants watched, so a change of slots watches and unwatches the difference.
 *
 * A bunker can also be held: watched here whatever its slot for a while, so a pairing answered by
 * this instance can wait for a subscription of its own (the owner subscribes too; the request
 * claims keep the overlap to one answer).
 */
import type { WatchTarget } from "../nip46/engine.ts";
import { realTimers, type Timers } from "../util/async.ts";
import { slotOf } from "./slots.ts";

/** What the partition needs of the relay pool. */
export interface PartitionPool extends WatchTarget {
  ready(
    bunkerPubkey: string,
    opts?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<boolean>;
}

/** How long a newly served slot's subscription is waited for before acknowledging, in ms. */
export const READY_WAIT_MS = 3_000;
/** Most bunkers whose subscription is waited for after a change (the pool packs the rest along). */
const READY_SAMPLE = 50;

/** Watches on the pool only the bunkers this instance serves (see the module doc). */
export class PartitionedWatch implements WatchTarget {
  readonly #pool: PartitionPool;
  readonly #wanted = new Map<string, readonly string[]>();
  readonly #watched = new Set<string>();
  /** Bunkers watched for a gained slot whose subscription is not confirmed yet. */
  readonly #unconfirmed = new Set<string>();
  readonly #held = new Map<string, unknown>();
  readonly #timers: Timers;
  #slots: ReadonlySet<number> = new Set();

  /** `timers`: the holds' timers. Default the global ones. */
  constructor(pool: PartitionPool, timers: Timers = realTimers) {
    this.#pool = pool;
    this.#timers = timers;
  }

  /** Bunkers watched on the relays now. */
  get watched(): number {
    return this.#watched.size;
  }

  /** Whether this instance serves `bunkerPubkey`'s slot. */
  serves(bunkerPubkey: string): boolean {
    return this.#slots.has(slotOf(bunkerPubkey));
  }

  watch(bunkerPubkey: string, relays: readonly string[]): void {
    this.#wanted.set(bunkerPubkey, relays);
    if (this.serves(bunkerPubkey) || this.#held.has(bunkerPubkey)) {
      this.#watched.add(bunkerPubkey);
      this.#pool.watch(bunkerPubkey, relays);
    }
  }

  unwatch(bunkerPubkey: string): void {
    this.#wanted.delete(bunkerPubkey);
    if (this.#watched.delete(bunkerPubkey)) this.#pool.unwatch(bunkerPubkey);
  }

  /**
   * Serves exactly `slots` from now on. Resolves true once the bunkers this instance started to
   * watch for its slots are subscribed (a sample of them is waited for; the pool packs the rest
   * along), false when some are still not after `waitMs` (default {@link READY_WAIT_MS}) — those
   * are waited for again at the next call.
   */
  async serve(slots: ReadonlySet<number>, waitMs = READY_WAIT_MS): Promise<boolean> {
    this.#slots = slots;
    for (const [bunkerPubkey, relays] of this.#wanted) {
      const wanted = this.serves(bunkerPubkey) || this.#held.has(bunkerPubkey);
      if (wanted && !this.#watched.has(bunkerPubkey)) {
        this.#watched.add(bunkerPubkey);
        this.#pool.watch(bunkerPubkey, relays);
        this.#unconfirmed.add(bunkerPubkey);
      } else if (!wanted && this.#watched.delete(bunkerPubkey)) {
        this.#pool.unwatch(bunkerPubkey);
      }
    }
    const sample: string[] = [];
    for (const bunkerPubkey of this.#unconfirmed) {
      if (!this.#watched.has(bunkerPubkey)) this.#unconfirmed.delete(bunkerPubkey);
      else if (sample.push(bunkerPubkey) >= READY_SAMPLE) break;
    }
    const ready = await Promise.all(sample.map((b) => this.#pool.ready(b, { timeoutMs: waitMs })));
    if (!ready.every(Boolean)) return false;
    // The pool subscribes bunkers in a few packed REQs: the sample stands for the rest.
    this.#unconfirmed.clear();
    return true;
  }

  /**
   * Watches `bunkerPubkey` here for `ms` whatever its slot, then waits until it is subscribed
   * (see the module doc); resolves like the pool's `ready`.
   */
  hold(bunkerPubkey: string, ms: number, signal?: AbortSignal): Promise<boolean> {
    this.#timers.clearTimeout(this.#held.get(bunkerPubkey));
    this.#held.set(
      bunkerPubkey,
      this.#timers.setTimeout(() => {
        this.#held.delete(bunkerPubkey);
        if (!this.serves(bunkerPubkey) && this.#watched.delete(bunkerPubkey)) {
          this.#pool.unwatch(bunkerPubkey);
        }
      }, ms),
    );
    const relays = this.#wanted.get(bunkerPubkey);
    if (relays && !this.#watched.has(bunkerPubkey)) {
      this.#watched.add(bunkerPubkey);
      this.#pool.watch(bunkerPubkey, relays);
    }
    return this.#pool.ready(bunkerPubkey, { signal });
  }

  /** Ends the holds' timers. */
  [Symbol.dispose](): void {
    for (const timer of this.#held.values()) this.#timers.clearTimeout(timer);
    this.#held.clear();
  }
}
