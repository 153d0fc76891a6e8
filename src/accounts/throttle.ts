/**
 * Login throttling: failed logins are counted per account name and per client address, and after
 * a few free failures each further one doubles the time the next attempt must wait (exponential
 * backoff, capped). A locked-out attempt is refused before any password is hashed, so a storm of
 * wrong passwords costs a map lookup each, not a quarter second of CPU. A successful login clears
 * its account's count (not its address's: one good password must not unlock guessing others).
 *
 * Unknown account names are counted like real ones, so the throttle does not tell them apart. The
 * state lives in memory, bounded: with several instances each counts what it sees (an attacker
 * spreading attempts gains at most a factor of the instance count).
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

/** Limits per account name and per client address. */
export interface ThrottleLimits {
  account: BackoffLimit;
  address: BackoffLimit;
  /** Most keys held; the least recently failed are forgotten first. Default 50,000. */
  maxKeys: number;
}

/** Defaults: 5 free tries per account then 1 s, 2 s, 4 s … up to 15 min; 20 per address. */
export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = {
  account: { free: 5, baseMs: 1_000, maxMs: 15 * 60_000, forgetMs: 60 * 60_000 },
  address: { free: 20, baseMs: 1_000, maxMs: 15 * 60_000, forgetMs: 60 * 60_000 },
  maxKeys: 50_000,
};

interface Entry {
  failures: number;
  lastFailureAt: number;
  /** No attempt before this time (ms). */
  until: number;
}

/** Counts failed logins and says how long the next attempt must wait. */
export class LoginThrottle {
  readonly #limits: ThrottleLimits;
  /** Insertion order is last-failure order: a failure re-inserts its key. */
  readonly #entries = new Map<string, Entry>();

  constructor(limits: Partial<ThrottleLimits> = {}) {
    this.#limits = { ...DEFAULT_THROTTLE_LIMITS, ...limits };
  }

  /** Ms until `account` from `address` may try again; 0 when it may try now. */
  waitMs(account: string, address: string, now: number): number {
    return Math.max(
      this.#wait(`a:${account.toLowerCase()}`, this.#limits.account, now),
      this.#wait(`i:${address}`, this.#limits.address, now),
    );
  }

  /** Records a failed login. */
  failed(account: string, address: string, now: number): void {
    this.#fail(`a:${account.toLowerCase()}`, this.#limits.account, now);
    this.#fail(`i:${address}`, this.#limits.address, now);
  }

  /**
   * Records an attempt of something costly that is not a login (a registration) against the
   * address only: it shares the address's budget with failed logins.
   */
  charged(address: string, now: number): void {
    this.#fail(`i:${address}`, this.#limits.address, now);
  }

  /**
   * Records an attempt about to be checked, as a failure until it proves otherwise: counted before
   * the password is hashed, so attempts sent in parallel cannot all pass the wait while the first
   * ones are still hashing. A good password then calls {@link succeeded} with the address.
   */
  began(account: string, address: string, now: number): void {
    this.failed(account, address, now);
  }

  /**
   * Records a successful login: the account's count starts over; with `address` (after
   * {@link began}), the address gets back the failure charged in advance.
   */
  succeeded(account: string, address?: string): void {
    this.#entries.delete(`a:${account.toLowerCase()}`);
    if (address !== undefined) this.#refund(`i:${address}`, this.#limits.address);
  }

  /** Keys held (for tests and metrics). */
  get size(): number {
    return this.#entries.size;
  }

  #wait(key: string, limit: BackoffLimit, now: number): number {
    const entry = this.#entries.get(key);
    if (!entry) return 0;
    if (now - entry.lastFailureAt >= limit.forgetMs) {
      this.#entries.delete(key);
      return 0;
    }
    return Math.max(0, entry.until - now);
  }

  #refund(key: string, limit: BackoffLimit): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    entry.failures--;
    if (entry.failures <= 0) {
      this.#entries.delete(key);
      return;
    }
    const over = entry.failures - limit.free;
    entry.until = over > 0
      ? entry.lastFailureAt + Math.min(limit.maxMs, limit.baseMs * 2 ** (over - 1))
      : 0;
  }

  #fail(key: string, limit: BackoffLimit, now: number): void {
    const held = this.#entries.get(key);
    const entry = held && now - held.lastFailureAt < limit.forgetMs
      ? held
      : { failures: 0, lastFailureAt: now, until: 0 };
    entry.failures++;
    entry.lastFailureAt = now;
    const over = entry.failures - limit.free;
    entry.until = over > 0 ? now + Math.min(limit.maxMs, limit.baseMs * 2 ** (over - 1)) : 0;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#limits.maxKeys) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }
}
