/**
 * A bounded set of recently seen keys with expiry, for dropping duplicates: the same event
 * delivered by several relays, or the same (client, request id) sent twice. Insertion order is
 * expiry order (one TTL for all), so pruning only looks at the oldest entries.
 */
export class SeenSet {
  readonly #expiresAt = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #max: number;

  /** `ttlMs`: how long a key is remembered; `max`: most keys held (oldest evicted first). */
  constructor(opts: { ttlMs: number; max: number }) {
    this.#ttlMs = opts.ttlMs;
    this.#max = opts.max;
  }

  /** Number of keys held. */
  get size(): number {
    return this.#expiresAt.size;
  }

  /** Records `key` and returns true when it was not seen (or had expired); false for a repeat. */
  add(key: string, now: number): boolean {
    this.#prune(now);
    const expiry = this.#expiresAt.get(key);
    if (expiry !== undefined && expiry > now) return false;
    this.#expiresAt.delete(key);
    this.#expiresAt.set(key, now + this.#ttlMs);
    while (this.#expiresAt.size > this.#max) {
      this.#expiresAt.delete(this.#expiresAt.keys().next().value!);
    }
    return true;
  }

  /** Forgets `key` (e.g. when its processing failed before any effect). */
  delete(key: string): void {
    this.#expiresAt.delete(key);
  }

  #prune(now: number): void {
    for (const [key, expiry] of this.#expiresAt) {
      if (expiry > now) return;
      this.#expiresAt.delete(key);
    }
  }
}
