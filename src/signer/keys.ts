/**
 * Opened signing keys of one worker: `pubkey + sealed` → {@link SchnorrKey} in a bounded LRU.
 * The vault is opened once per key (a re-sealed key is a new entry), the secret bytes are wiped
 * as soon as the scalar is derived, and concurrent jobs for a key still being opened share one open.
 */
import { isHex64 } from "../util/hex.ts";
import { type Vault, VaultError } from "../vault/vault.ts";
import { InvalidJobError, KeyUnavailableError } from "./errors.ts";
import { LruCache } from "./lru.ts";
import type { KeyRef } from "./protocol.ts";
import { SchnorrKey, SchnorrKeyError } from "./schnorr.ts";

const MAX_SEALED_LENGTH = 4_096;

/** Checks a {@link KeyRef} received from outside; `role` names it in the error. */
export function checkKeyRef(value: unknown, role: string): KeyRef {
  const ref = value as Partial<KeyRef> | null | undefined;
  if (typeof ref !== "object" || ref === null || !isHex64(ref.pubkey)) {
    throw new InvalidJobError(
      `Cannot use ${role} key: expected {pubkey: 64 lowercase hex, sealed}`,
    );
  }
  if (typeof ref.sealed !== "string" || ref.sealed.length > MAX_SEALED_LENGTH) {
    throw new InvalidJobError(
      `Cannot use ${role} key "${ref.pubkey}": its sealed secret is not a string`,
    );
  }
  return { pubkey: ref.pubkey, sealed: ref.sealed };
}

/** Opens sealed keys through one vault and keeps the opened ones. */
export class KeyCache {
  readonly #vault: Vault;
  readonly #keys: LruCache<string, Promise<SchnorrKey>>;

  /** Keeps at most `capacity` opened keys. */
  constructor(vault: Vault, capacity: number) {
    this.#vault = vault;
    this.#keys = new LruCache(capacity);
  }

  /** The opened key for `ref`; rejects with {@link KeyUnavailableError} when it cannot be used. */
  get(ref: KeyRef): Promise<SchnorrKey> {
    const cacheKey = `${ref.pubkey}:${ref.sealed}`;
    const cached = this.#keys.get(cacheKey);
    if (cached) return cached;
    const opening = this.#open(ref);
    this.#keys.set(cacheKey, opening);
    opening.catch(() => this.#keys.delete(cacheKey));
    return opening;
  }

  async #open(ref: KeyRef): Promise<SchnorrKey> {
    let secret: Uint8Array;
    try {
      secret = await this.#vault.open(ref.sealed, ref.pubkey);
    } catch (error) {
      const reason = error instanceof VaultError ? error.message : "unexpected error";
      throw new KeyUnavailableError(`Cannot open the sealed key of "${ref.pubkey}": ${reason}`);
    }
    let key: SchnorrKey;
    try {
      key = SchnorrKey.fromSecret(secret);
    } catch (error) {
      const reason = error instanceof SchnorrKeyError ? error.message : "unexpected error";
      throw new KeyUnavailableError(`Cannot use the key of "${ref.pubkey}": ${reason}`);
    } finally {
      secret.fill(0);
    }
    if (key.publicKeyHex !== ref.pubkey) {
      throw new KeyUnavailableError(
        `Cannot use the key of "${ref.pubkey}": the sealed secret belongs to another public key`,
      );
    }
    return key;
  }
}
