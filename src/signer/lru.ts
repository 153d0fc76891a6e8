/** A bounded least-recently-used map, used by the signer workers for opened keys and ECDH secrets. */
export class LruCache<K, V> {
  readonly #capacity: number;
  /** Insertion order of a `Map` is the recency order: the first entry is the least recently used. */
  readonly #entries = new Map<K, V>();

  /** Holds at most `capacity` entries (an integer ≥ 0; 0 disables caching). */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new RangeError(`Cannot create a cache of capacity "${capacity}": need an integer ≥ 0`);
    }
    this.#capacity = capacity;
  }

  /** Number of entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** The value for `key`, marking it most recently used; `undefined` when absent. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  /** Stores `value` as the most recently used entry, evicting the least recently used one if full. */
  set(key: K, value: V): void {
    if (this.#capacity === 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  /** Removes `key`; true when it was present. */
  delete(key: K): boolean {
    return this.#entries.delete(key);
  }

  /** Removes every entry. */
  clear(): void {
    this.#entries.clear();
  }
}
