/**
 * In-memory event storage for the test relay: insertion-ordered, bounded, scanned linearly.
 *
 * Good for the tens of thousands of events a test run produces; a production relay would index.
 * Ephemeral events are not stored, but their ids are remembered for a while so a repeated
 * publish is still answered `duplicate:` and not delivered twice.
 */
import type { NostrEvent } from "nostr-tools/pure";
import { type Filter, matchesFilter } from "./filters.ts";

/** Bounded event store. When full, the oldest inserted events are evicted first. */
export class EventStore {
  readonly #events = new Map<string, NostrEvent>();
  readonly #recentIds = new Set<string>();
  readonly #maxEvents: number;

  /** `maxEvents` bounds both stored events and remembered ephemeral ids. Default 100_000. */
  constructor(maxEvents = 100_000) {
    this.#maxEvents = maxEvents;
  }

  /** Number of stored events. */
  get size(): number {
    return this.#events.size;
  }

  /** True when the relay has already accepted an event with this id. */
  has(id: string): boolean {
    return this.#events.has(id) || this.#recentIds.has(id);
  }

  /** Stores `event`. */
  add(event: NostrEvent): void {
    this.#events.set(event.id, event);
    evictOldest(this.#events, this.#maxEvents);
  }

  /** Remembers the id of an event that is delivered but not stored. */
  remember(id: string): void {
    this.#recentIds.add(id);
    evictOldest(this.#recentIds, this.#maxEvents);
  }

  /** Stored events matching any filter, newest first (ties: lower id first), each filter's `limit` applied. */
  query(filters: readonly Filter[]): NostrEvent[] {
    const found = new Map<string, NostrEvent>();
    for (const filter of filters) {
      if (filter.limit === 0) continue;
      const matches = [...this.#events.values()].filter((event) => matchesFilter(filter, event));
      matches.sort(newestFirst);
      for (const event of matches.slice(0, filter.limit ?? matches.length)) {
        found.set(event.id, event);
      }
    }
    return [...found.values()].sort(newestFirst);
  }
}

function newestFirst(a: NostrEvent, b: NostrEvent): number {
  return b.created_at - a.created_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function evictOldest(items: Map<string, unknown> | Set<string>, max: number): void {
  while (items.size > max) {
    const oldest = items.keys().next();
    if (oldest.done) return;
    items.delete(oldest.value);
  }
}
