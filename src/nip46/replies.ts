/**
 * Replies kept for repeated request ids. A client that lost a reply and sends the same request id
 * again (in a new event) gets the same encrypted reply again (in a freshly signed envelope, see the
 * listener), with no second action or audit row; while the first is in flight the repeat gets
 * nothing (the first reply will come).
 * A reply that asks for a retry (`overloaded:`) is not kept: the retry is served afresh.
 *
 * One TTL for all entries (the duplicate window), so insertion order is expiry order; bounded
 * both in entries and in size, because a reply to `nip44_encrypt` or `nip44_decrypt` may be
 * ~90 KB where a `sign_event` reply is about one.
 */
import type { NostrEvent } from "../nostr/event.ts";
import type { RespondResult } from "../signer/protocol.ts";

/** The prefix of replies that did nothing and ask for a retry (`overloaded: retry later`). */
const RETRY_PREFIX = "overloaded:";

/** The bounds of a {@link ReplyCache}. */
export interface ReplyCacheLimits {
  /** Most replies held. Default 50_000. */
  maxEntries: number;
  /** Most characters held, summed over {@link replySize}, ≈ bytes. Default 32 MiB. */
  maxChars: number;
}

/** The defaults of {@link ReplyCacheLimits}. */
export const DEFAULT_REPLY_CACHE_LIMITS: ReplyCacheLimits = {
  maxEntries: 50_000,
  maxChars: 32 * 1024 * 1024,
};

/** One answered request. */
export interface CachedReply {
  /** The signed reply event, as published. */
  reply: NostrEvent;
  /** Id of the request event it answered (a copy of that event is a plain duplicate). */
  requestEventId: string;
}

interface Entry extends CachedReply {
  /** When the entry expires, in ms. */
  expiresAt: number;
  /** Its {@link replySize}. */
  chars: number;
}

/** Approximate size of a reply event in memory, in characters (≈ bytes: reply events are ASCII). */
export function replySize(event: NostrEvent): number {
  let tags = 0;
  for (const tag of event.tags) for (const item of tag) tags += item.length + 4;
  // id, pubkey, sig and the numbers, plus the objects around them.
  return event.content.length + tags + 400;
}

/** Signed replies by request key, for `ttlMs`; the oldest go first when a bound is reached. */
export class ReplyCache {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #limits: ReplyCacheLimits;
  #chars = 0;

  /** `ttlMs`: how long a reply is kept, in ms; each limit defaults. */
  constructor(ttlMs: number, limits: Partial<ReplyCacheLimits> = {}) {
    this.#ttlMs = ttlMs;
    this.#limits = { ...DEFAULT_REPLY_CACHE_LIMITS, ...limits };
  }

  /** Replies held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Characters held, summed over {@link replySize}. */
  get chars(): number {
    return this.#chars;
  }

  /**
   * Keeps the reply `response` to request event `requestEventId` under `key` from `now` (ms).
   * Returns false, keeping nothing, when the reply asks for a retry (`overloaded:`).
   */
  keep(key: string, response: RespondResult, requestEventId: string, now: number): boolean {
    if (response.error?.startsWith(RETRY_PREFIX)) return false;
    this.set(key, { reply: response.event, requestEventId }, now);
    return true;
  }

  /**
   * What a repeated request `key`, in event `requestEventId`, gets at `now` (ms): the reply kept
   * for the first, or undefined while the first is in flight, when none was kept, or when this is
   * another copy of the first event (same event id, another valid signature).
   */
  replyToRepeat(key: string, requestEventId: string, now: number): NostrEvent | undefined {
    const kept = this.get(key, now);
    return kept && kept.requestEventId !== requestEventId ? kept.reply : undefined;
  }

  /** Keeps `entry` under `key` from `now` (ms); a reply larger than `maxChars` is not kept. */
  set(key: string, entry: CachedReply, now: number): void {
    this.#prune(now);
    this.delete(key);
    const chars = replySize(entry.reply);
    if (chars > this.#limits.maxChars || this.#limits.maxEntries < 1) return;
    this.#entries.set(key, { ...entry, expiresAt: now + this.#ttlMs, chars });
    this.#chars += chars;
    while (this.#entries.size > this.#limits.maxEntries || this.#chars > this.#limits.maxChars) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }

  /** The reply kept under `key` at `now` (ms), or undefined. */
  get(key: string, now: number): CachedReply | undefined {
    this.#prune(now);
    const entry = this.#entries.get(key);
    return entry && entry.expiresAt > now
      ? { reply: entry.reply, requestEventId: entry.requestEventId }
      : undefined;
  }

  /** Forgets `key`. */
  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#chars -= entry.chars;
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now) return;
      this.delete(key);
    }
  }
}
