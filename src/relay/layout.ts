/**
 * Where each bunker pubkey of one relay sits: pubkeys fill filters ("chunks") of at most
 * `pubkeysPerFilter`, consecutive chunks form one REQ ("slot"), consecutive slots share one
 * connection. A pubkey never moves once placed, so adding or removing one dirties only its slot,
 * and only that REQ is sent again. New pubkeys fill the first chunk with room.
 */

import { NIP46_KIND } from "../nostr/kinds.ts";

/** Size limits of a layout. */
export interface LayoutLimits {
  /** Most `#p` values per filter. */
  pubkeysPerFilter: number;
  /** Most filters per REQ. */
  filtersPerReq: number;
  /** Most REQs per connection. */
  reqsPerConnection: number;
  /** One filter without `#p` per relay instead of per-pubkey filters. */
  subscribeAll: boolean;
}

/** A filter of one REQ. */
export interface Nip46Filter {
  /** Always `[NIP46_KIND]`. */
  kinds: number[];
  /** Bunker pubkeys; absent in subscribe-all mode. */
  "#p"?: string[];
  /** Unix seconds. */
  since: number;
}

/** Pubkeys covered by a sent REQ: a snapshot, or every pubkey in subscribe-all mode. */
export type Coverage = ReadonlySet<string> | "all";

/** Placement of the bunker pubkeys of one relay. */
export class SubscriptionLayout {
  readonly #limits: LayoutLimits;
  readonly #chunks: Set<string>[] = [];
  readonly #chunkOf = new Map<string, number>();
  readonly #dirty = new Set<number>();
  /** No chunk before this index has room (keeps add() from rescanning full chunks). */
  #firstWithRoom = 0;

  /** An empty layout. */
  constructor(limits: LayoutLimits) {
    this.#limits = limits;
  }

  /** Number of pubkeys placed. */
  get size(): number {
    return this.#chunkOf.size;
  }

  /** Number of REQ slots in use (some may be empty after removals). */
  get slotCount(): number {
    if (this.#limits.subscribeAll) return this.size > 0 ? 1 : 0;
    return Math.ceil(this.#chunks.length / this.#limits.filtersPerReq);
  }

  /** True when `bunkerPubkey` is placed. */
  has(bunkerPubkey: string): boolean {
    return this.#chunkOf.has(bunkerPubkey);
  }

  /** Places a pubkey; false if it was already there. */
  add(bunkerPubkey: string): boolean {
    if (this.#chunkOf.has(bunkerPubkey)) return false;
    let index = this.#firstWithRoom;
    while (
      index < this.#chunks.length && this.#chunks[index]!.size >= this.#limits.pubkeysPerFilter
    ) {
      index++;
    }
    if (index === this.#chunks.length) this.#chunks.push(new Set());
    this.#firstWithRoom = index;
    this.#chunks[index]!.add(bunkerPubkey);
    this.#chunkOf.set(bunkerPubkey, index);
    if (!this.#limits.subscribeAll) this.#dirty.add(this.#slotOfChunk(index));
    else if (this.size === 1) this.#dirty.add(0);
    return true;
  }

  /** Removes a pubkey; false if it was not there. */
  remove(bunkerPubkey: string): boolean {
    const index = this.#chunkOf.get(bunkerPubkey);
    if (index === undefined) return false;
    this.#chunkOf.delete(bunkerPubkey);
    this.#chunks[index]!.delete(bunkerPubkey);
    this.#firstWithRoom = Math.min(this.#firstWithRoom, index);
    if (!this.#limits.subscribeAll) this.#dirty.add(this.#slotOfChunk(index));
    else if (this.size === 0) this.#dirty.add(0);
    while (this.#chunks.length > 0 && this.#chunks.at(-1)!.size === 0) this.#chunks.pop();
    this.#firstWithRoom = Math.min(this.#firstWithRoom, this.#chunks.length);
    return true;
  }

  /** Slot (REQ) holding `bunkerPubkey`, if placed. */
  slotOf(bunkerPubkey: string): number | undefined {
    const index = this.#chunkOf.get(bunkerPubkey);
    if (index === undefined) return undefined;
    return this.#limits.subscribeAll ? 0 : this.#slotOfChunk(index);
  }

  /** Connection index that carries `slot`. */
  connectionOf(slot: number): number {
    return Math.floor(slot / this.#limits.reqsPerConnection);
  }

  /** Slots carried by connection `connection` (whether empty or not). */
  slotsOf(connection: number): number[] {
    const first = connection * this.#limits.reqsPerConnection;
    const end = Math.min(first + this.#limits.reqsPerConnection, this.slotCount);
    const out: number[] = [];
    for (let slot = first; slot < end; slot++) out.push(slot);
    return out;
  }

  /** True when connection `connection` carries at least one non-empty slot. */
  connectionNeeded(connection: number): boolean {
    return this.slotsOf(connection).some((slot) => this.#slotChunks(slot).some((c) => c.size > 0));
  }

  /** Number of connections the layout spans. */
  get connectionCount(): number {
    return Math.ceil(this.slotCount / this.#limits.reqsPerConnection);
  }

  /** Slots changed since the last call, and forgets them. */
  takeDirty(): number[] {
    const out = [...this.#dirty].sort((a, b) => a - b);
    this.#dirty.clear();
    return out;
  }

  /** The filters of `slot` (empty when the slot holds no pubkey). */
  filtersFor(slot: number, since: number): Nip46Filter[] {
    if (this.#limits.subscribeAll) {
      return slot === 0 && this.size > 0 ? [{ kinds: [NIP46_KIND], since }] : [];
    }
    return this.#slotChunks(slot)
      .filter((c) => c.size > 0)
      .map((c) => ({ kinds: [NIP46_KIND], "#p": [...c], since }));
  }

  /** What a REQ for `slot` sent now would cover. */
  coverageOf(slot: number): Coverage {
    if (this.#limits.subscribeAll) return "all";
    return new Set(this.pubkeysOfSlot(slot));
  }

  /** Pubkeys in `slot`, in placement order (every pubkey in subscribe-all mode). */
  pubkeysOfSlot(slot: number): string[] {
    return this.#slotChunks(slot).flatMap((c) => [...c]);
  }

  /** Pubkeys on connection `connection`, in placement order. */
  pubkeysOf(connection: number): string[] {
    return this.slotsOf(connection).flatMap((slot) => this.pubkeysOfSlot(slot));
  }

  #slotOfChunk(index: number): number {
    return Math.floor(index / this.#limits.filtersPerReq);
  }

  #slotChunks(slot: number): Set<string>[] {
    if (this.#limits.subscribeAll) return slot === 0 ? this.#chunks : [];
    const first = slot * this.#limits.filtersPerReq;
    return this.#chunks.slice(first, first + this.#limits.filtersPerReq);
  }
}

/** Filters per REQ that keep a full REQ under `maxReqBytes` (64 hex + 3 bytes per pubkey). */
export function filtersPerReqFor(
  maxFiltersPerReq: number,
  maxReqBytes: number,
  pubkeysPerFilter: number,
): number {
  const filterBytes = pubkeysPerFilter * 67 + 64;
  return Math.max(1, Math.min(maxFiltersPerReq, Math.floor((maxReqBytes - 64) / filterBytes)));
}
