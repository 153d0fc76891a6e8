/** A bounded set of recently seen ids, oldest forgotten first. */
export class RecentIds {
  readonly #capacity: number;
  readonly #ids = new Set<string>();

  /** Remembers at most `capacity` ids (≥ 1). */
  constructor(capacity: number) {
    this.#capacity = Math.max(1, Math.floor(capacity));
  }

  /** Records `id`; false when it was already recorded. */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.#capacity) {
      const oldest = this.#ids.values().next().value;
      if (oldest !== undefined) this.#ids.delete(oldest);
    }
    return true;
  }

  /** Forgets everything. */
  clear(): void {
    this.#ids.clear();
  }
}
