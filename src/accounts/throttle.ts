/**
 * Login throttling. Failed logins are counted per account name and per client address, and after
 * a few free failures each further one doubles the time the next attempt must wait (exponential
 * backoff, capped). An attempt is counted as a failure before its password is hashed, so attempts
 * sent in parallel all see each other; a good password then takes its failure back (the
 * account's count starts over, the address gets back the one charged in advance: one good
 * password must not unlock guessing others).
 *
 * Besides failures, every password hash an address asks for takes a token from its hashing
 * budget (a token bucket), whether the password proves right or not: the hasher runs one hash at
 * a time, and one person with a good password must not keep it busy for everyone else.
 * Registrations have a backoff of their own per address, so they never lock that address out of
 * logging in.
 *
 * A refused attempt is refused before any hashing, so a storm costs a map lookup per attempt, not
 * a quarter second of CPU. Unknown account names are counted like real ones, so the throttle does
 * not tell them apart. Addresses are keyed by {@link addressKey} (an IPv6 address by its /64).
 *
 * The state lives in memory, per instance (with `--cluster`, what each instance admits is counted
 * in the database as well, `src/cluster/login_throttle.ts`, so limits hold across instances), in
 * separate bounded
 * tables for accounts, addresses, registrations and hashing budgets, so a flood of one kind cannot
 * evict another. Within a table of failures, eviction spares keys in backoff (see `backoff.ts`);
 * budgets go least recently used first (the likeliest to be full again, the same as none).
 */
import { type BucketLimit, BucketStore } from "../policy/token_bucket.ts";
import { addressKey } from "./address_key.ts";
import { type BackoffLimit, BackoffTable } from "./backoff.ts";

export type { BackoffLimit } from "./backoff.ts";

/** Limits per account name, per client address, and of each address's registrations and hashes. */
export interface ThrottleLimits {
  /** Failed logins of one account name. */
  account: BackoffLimit;
  /** Failed logins from one address. */
  address: BackoffLimit;
  /** Registrations from one address (each counts, whether it succeeds or not). */
  registration: BackoffLimit;
  /** Password hashes one address may ask for: logins, password checks, registrations. */
  hashing: BucketLimit;
  /** Most keys each table holds (accounts, addresses, registrations, budgets). Default 50,000. */
  maxKeys: number;
}

/**
 * Defaults: 5 free failures per account then 1 s, 2 s, 4 s … up to 15 min, and 20 per address;
 * 20 registrations per address likewise; 20 password hashes per address a minute, 20 at once.
 */
export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = {
  account: { free: 5, baseMs: 1_000, maxMs: 15 * 60_000, forgetMs: 60 * 60_000 },
  address: { free: 20, baseMs: 1_000, maxMs: 15 * 60_000, forgetMs: 60 * 60_000 },
  registration: { free: 20, baseMs: 1_000, maxMs: 15 * 60_000, forgetMs: 60 * 60_000 },
  hashing: { perMinute: 20, burst: 20 },
  maxKeys: 50_000,
};

/** Why an attempt is refused, and for how long. */
export interface Refusal {
  /**
   * `failures`: too many recent failed logins (or registrations); `hashing`: the address's
   * password hashing budget is spent.
   */
  reason: "failures" | "hashing";
  /** Ms until a retry may pass. */
  waitMs: number;
}

/** Counts failed logins, registrations and hashes, and says how long the next attempt must wait. */
export class LoginThrottle {
  readonly #limits: ThrottleLimits;
  readonly #accounts: BackoffTable;
  readonly #addresses: BackoffTable;
  readonly #registrations: BackoffTable;
  readonly #hashing: BucketStore;

  constructor(limits: Partial<ThrottleLimits> = {}) {
    this.#limits = { ...DEFAULT_THROTTLE_LIMITS, ...limits };
    const { maxKeys } = this.#limits;
    this.#accounts = new BackoffTable(this.#limits.account, maxKeys);
    this.#addresses = new BackoffTable(this.#limits.address, maxKeys);
    this.#registrations = new BackoffTable(this.#limits.registration, maxKeys);
    this.#hashing = new BucketStore(maxKeys);
  }

  /** Ms until `account` from `address` may try again after failures; 0 when it may try now. */
  waitMs(account: string, address: string, now: number): number {
    return Math.max(
      this.#accounts.waitMs(account.toLowerCase(), now),
      this.#addresses.waitMs(addressKey(address), now),
    );
  }

  /** Records a failed attempt (of something that is not a password hash, like a token guess). */
  failed(account: string, address: string, now: number): void {
    this.#accounts.fail(account.toLowerCase(), now);
    this.#addresses.fail(addressKey(address), now);
  }

  /**
   * Admits a password check of the account that goes by each of `accounts` (the name typed and,
   * once it is found, its username: they share one count), from `address` at `now`; or refuses
   * it. An admitted check is counted as a failure of each name and of the address until it
   * proves otherwise ({@link succeeded}), and takes a token from the address's hashing budget.
   * Call it with no await between it and the hashing, so parallel attempts all see each other.
   */
  begin(accounts: readonly string[], address: string, now: number): Refusal | undefined {
    const names = [...new Set(accounts.map((account) => account.toLowerCase()))];
    const key = addressKey(address);
    const waitMs = Math.max(
      this.#addresses.waitMs(key, now),
      ...names.map((name) => this.#accounts.waitMs(name, now)),
    );
    if (waitMs > 0) return { reason: "failures", waitMs };
    const refusal = this.#takeHash(key, now);
    if (refusal) return refusal;
    for (const name of names) this.#accounts.fail(name, now);
    this.#addresses.fail(key, now);
    return undefined;
  }

  /**
   * Records that a check admitted by {@link begin} with the same names and address succeeded:
   * the account's count starts over, the address gets back the failure charged in advance. The
   * hashing token stays spent.
   */
  succeeded(accounts: readonly string[], address: string): void {
    for (const account of accounts) this.#accounts.clear(account.toLowerCase());
    this.#addresses.refund(addressKey(address));
  }

  /**
   * Admits a registration from `address` at `now`, or refuses it: it counts against the
   * address's registrations (never its logins) and takes a token from its hashing budget.
   */
  beginRegistration(address: string, now: number): Refusal | undefined {
    const key = addressKey(address);
    const waitMs = this.#registrations.waitMs(key, now);
    if (waitMs > 0) return { reason: "failures", waitMs };
    const refusal = this.#takeHash(key, now);
    if (refusal) return refusal;
    this.#registrations.fail(key, now);
    return undefined;
  }

  /** Keys held in each table (for tests and metrics). */
  get sizes(): { accounts: number; addresses: number; registrations: number; hashing: number } {
    return {
      accounts: this.#accounts.size,
      addresses: this.#addresses.size,
      registrations: this.#registrations.size,
      hashing: this.#hashing.size,
    };
  }

  #takeHash(key: string, now: number): Refusal | undefined {
    const bucket = this.#hashing.get(key, this.#limits.hashing, now);
    const waitMs = bucket.waitMs(now);
    if (waitMs > 0) return { reason: "hashing", waitMs };
    bucket.take(now);
    return undefined;
  }
}
