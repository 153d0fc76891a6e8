/**
 * Exponential backoff by key, in bounded memory: after `free` failures, each further one doubles
 * the time the next attempt must wait, up to a cap; failures are forgotten after a quiet spell.
 *
 * When the table is full, eviction spares the keys in backoff (over their free failures and not
 * yet forgotten): a flood of new keys must not hand a key someone is guessing at a fresh set of
 * free tries. It looks at the oldest entries first, moving those in backoff to the back; when the
 * first {@link EVICTION_SCAN} it looks at are all in backoff, the oldest one left goes.
 */

/** The limits of one kind of key. */
export interface BackoffLimit {
  /** Failures allowed before the first wait. */
  free: number;
  /** The first wait, in ms; each further failure doubles it. */
  baseMs: number;
  /** The longest wait, in ms. */
  maxMs: number;
  /** Failures are forgotten after this long without one, in ms. */
  forgetMs: number;
}

/** Most entries one eviction looks at before it gives up sparing those in backoff. */
export const EVICTION_SCAN = 64;

interface Entry {
  failures: number;
  lastFailureAt: number;
  /** No attempt before this time (ms). */
  until: number;
}

/** Failures by key under one {@link BackoffLimit}, at most `maxKeys` keys; time passed in ms. */
export class BackoffTable {
  /** Oldest first: a failure re-inserts its key, eviction moves the spared ones to the back. */
  readonly #entries = new Map<string, Entry>();

  /** Counts failures under `limit`, holding at most `maxKeys` keys. */
  constructor(private readonly limit: BackoffLimit, private readonly maxKeys: number) {}

  /** Keys held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Ms until `key` may try again at `now`; 0 when it may try now. */
  waitMs(key: string, now: number): number {
    const entry = this.#entries.get(key);
    if (!entry) return 0;
    if (now - entry.lastFailureAt >= this.limit.forgetMs) {
      this.#entries.delete(key);
      return 0;
    }
    return Math.max(0, entry.until - now);
  }

  /** Records a failure of `key` at `now`. */
  fail(key: string, now: number): void {
    const held = this.#entries.get(key);
    const entry = held && now - held.lastFailureAt < this.limit.forgetMs
      ? held
      : { failures: 0, lastFailureAt: now, until: 0 };
    entry.failures++;
    entry.lastFailureAt = now;
    entry.until = this.#until(entry);
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.maxKeys) this.#evict(key, now);
  }

  /** Takes back one failure of `key` (one counted in advance that proved not to be one). */
  refund(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.failures--;
    if (entry.failures <= 0) {
      this.#entries.delete(key);
      return;
    }
    entry.until = this.#until(entry);
  }

  /** Forgets every failure of `key`. */
  clear(key: string): void {
    this.#entries.delete(key);
  }

  #until(entry: Entry): number {
    const over = entry.failures - this.limit.free;
    return over > 0
      ? entry.lastFailureAt + Math.min(this.limit.maxMs, this.limit.baseMs * 2 ** (over - 1))
      : 0;
  }

  #inBackoff(entry: Entry, now: number): boolean {
    return entry.failures > this.limit.free && now - entry.lastFailureAt < this.limit.forgetMs;
  }

  /**
   * Forgets one entry other than `kept` (the one just failed), sparing those in backoff when it
   * can (see the module doc).
   */
  #evict(kept: string, now: number): void {
    for (let looked = 0; looked < EVICTION_SCAN; looked++) {
      const oldest = this.#entries.entries().next();
      if (oldest.done) return;
      const [key, entry] = oldest.value;
      this.#entries.delete(key);
      if (key !== kept && !this.#inBackoff(entry, now)) return;
      this.#entries.set(key, entry);
    }
    for (const key of this.#entries.keys()) {
      if (key === kept) continue;
      this.#entries.delete(key);
      return;
    }
  }
}
