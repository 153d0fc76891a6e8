/**
 * The login throttle across instances (`serve --cluster`). Each instance still throttles in its
 * own memory first (`src/accounts/throttle.ts`: refused before any query); an attempt it admits is
 * then counted in the database too — failed logins per account name and per address, and
 * registrations per address, in `login_failures`; each address's hashing budget in
 * `rate_buckets` — under the same limits and rule, so guesses spread over the instances add up as
 * on one. Counted before the password is hashed, in one transaction per attempt, so parallel
 * attempts on any instance see each other.
 */
import { addressKey } from "../accounts/address_key.ts";
import {
  DEFAULT_THROTTLE_LIMITS,
  type Refusal,
  type ThrottleLimits,
} from "../accounts/throttle.ts";
import { sha256Hex } from "../util/hex.ts";
import type { ClusterStore } from "./store.ts";

/** What the account services ask of a shared throttle (see the module doc). */
export interface SharedThrottle {
  /** Counts a password check of `accounts` from `address`, or refuses it. */
  begin(accounts: readonly string[], address: string): Promise<Refusal | undefined>;
  /** The check admitted by {@link begin} succeeded: the account starts over. */
  succeeded(accounts: readonly string[], address: string): Promise<void>;
  /** Counts a registration from `address`, or refuses it. */
  beginRegistration(address: string): Promise<Refusal | undefined>;
}

/** {@link SharedThrottle} over the cluster's tables. */
export class DatabaseLoginThrottle implements SharedThrottle {
  readonly #store: Pick<ClusterStore, "countAttempt" | "forgiveAttempt">;
  readonly #limits: ThrottleLimits;

  constructor(
    store: Pick<ClusterStore, "countAttempt" | "forgiveAttempt">,
    limits: Partial<ThrottleLimits> = {},
  ) {
    this.#store = store;
    this.#limits = { ...DEFAULT_THROTTLE_LIMITS, ...limits };
  }

  async begin(accounts: readonly string[], address: string): Promise<Refusal | undefined> {
    const keys = await accountKeys(accounts);
    const limits = this.#limits;
    return await this.#store.countAttempt(
      [
        ...keys.map((key) => ({ key, limit: limits.account })),
        { key: await addressOf("i", address), limit: limits.address },
      ],
      await this.#hashing(address),
    );
  }

  async succeeded(accounts: readonly string[], address: string): Promise<void> {
    await this.#store.forgiveAttempt(await accountKeys(accounts), [await addressOf("i", address)]);
  }

  async beginRegistration(address: string): Promise<Refusal | undefined> {
    return await this.#store.countAttempt(
      [{ key: await addressOf("r", address), limit: this.#limits.registration }],
      await this.#hashing(address),
    );
  }

  async #hashing(address: string) {
    const { perMinute, burst } = this.#limits.hashing;
    return { key: await addressOf("login-hash", address), perMinute, burst };
  }
}

/** The keys of account names and addresses: digests (any text, fixed size, nothing to log). */
async function accountKeys(accounts: readonly string[]): Promise<string[]> {
  const names = [...new Set(accounts.map((account) => account.toLowerCase()))];
  return await Promise.all(names.map(async (name) => `a:${await sha256Hex(name)}`));
}

async function addressOf(prefix: string, address: string): Promise<string> {
  return `${prefix}:${await sha256Hex(addressKey(address))}`;
}
