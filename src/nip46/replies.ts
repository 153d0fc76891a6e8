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
 *
 * Each reply belongs to an owner — a connected client of one bunker, or all senders that are not
 * connected clients together ({@link STRANGERS}) — with a share of its own: an owner over its
 * share loses its own oldest replies, never another's. The shares are a small part of the whole,
 * so one client (or a flood of strangers) cannot evict what the others keep; the whole is only
 * reached when many owners are busy at once, and then the oldest replies go first.
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
  /** Most replies held for one owner (a client of a bunker, or all strangers). Default 1_000. */
  maxEntriesPerClient: number;
  /** Most characters held for one owner, ≈ bytes. Default 2 MiB. */
  maxCharsPerClient: number;
}

/** The defaults of {@link ReplyCacheLimits}. */
export const DEFAULT_REPLY_CACHE_LIMITS: ReplyCacheLimits = {
  maxEntries: 50_000,
  maxChars: 32 * 1024 * 1024,
  maxEntriesPerClient: 1_000,
  maxCharsPerClient: 2 * 1024 * 1024,
};

/** The owner of the replies to senders that are not connected clients, all of them together. */
export const STRANGERS = "strangers";

/** The owner of the replies to `clientPubkey`, a connected client of `bunkerPubkey`. */
export function replyOwner(bunkerPubkey: string, clientPubkey: string): string {
  return `${bunkerPubkey}:${clientPubkey}`;
}

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
  /** Whose share it counts in. */
  owner: string;
}

/** The replies of one owner: their keys, oldest first, and their characters. */
interface Share {
  keys: Set<string>;
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
  readonly #shares = new Map<string, Share>();
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

  /** Owners holding replies. */
  get owners(): number {
    return this.#shares.size;
  }

  /**
   * Keeps the reply `response` to request event `requestEventId` under `key`, in `owner`'s share,
   * from `now` (ms). Returns false, keeping nothing, when the reply asks for a retry
   * (`overloaded:`).
   */
  keep(
    key: string,
    owner: string,
    response: RespondResult,
    requestEventId: string,
    now: number,
  ): boolean {
    if (response.error?.startsWith(RETRY_PREFIX)) return false;
    this.set(key, owner, { reply: response.event, requestEventId }, now);
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

  /**
   * Keeps `entry` under `key`, in `owner`'s share, from `now` (ms): the owner's oldest replies go
   * when its share is full, then the oldest of all when the whole is. A reply larger than a share
   * (or the whole) is not kept.
   */
  set(key: string, owner: string, entry: CachedReply, now: number): void {
    this.#prune(now);
    this.delete(key);
    const limits = this.#limits;
    const chars = replySize(entry.reply);
    if (chars > Math.min(limits.maxChars, limits.maxCharsPerClient)) return;
    if (limits.maxEntries < 1 || limits.maxEntriesPerClient < 1) return;
    this.#entries.set(key, { ...entry, expiresAt: now + this.#ttlMs, chars, owner });
    this.#chars += chars;
    const share = this.#shares.get(owner) ?? { keys: new Set(), chars: 0 };
    share.keys.add(key);
    share.chars += chars;
    this.#shares.set(owner, share);
    while (share.keys.size > limits.maxEntriesPerClient || share.chars > limits.maxCharsPerClient) {
      this.delete(share.keys.values().next().value!);
    }
    while (this.#entries.size > limits.maxEntries || this.#chars > limits.maxChars) {
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
    const share = this.#shares.get(entry.owner);
    if (!share) return;
    share.keys.delete(key);
    share.chars -= entry.chars;
    if (share.keys.size === 0) this.#shares.delete(entry.owner);
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now) return;
      this.delete(key);
    }
  }
}
