/**
 * Which instance serves which bunker: bunker pubkeys fall into {@link SLOT_COUNT} slots by their
 * first three hex digits (keys are uniformly random, so slots are even), and each slot goes to
 * the instance with the highest rendezvous score for it. Every instance computes the same answer
 * from the same instance list; when an instance joins it takes about 1/n of the slots from the
 * others and nothing else moves; when one goes its slots spread over the rest.
 */

/** Number of slots bunker pubkeys are spread over. */
export const SLOT_COUNT = 4096;

/** The slot of a bunker pubkey (64 lowercase hex characters). */
export function slotOf(bunkerPubkey: string): number {
  return parseInt(bunkerPubkey.slice(0, 3), 16) % SLOT_COUNT;
}

/** The slots `self` serves among `instances` (ids): those where it scores highest. */
export function slotsOf(self: string, instances: readonly string[]): Set<number> {
  const owned = new Set<number>();
  if (!instances.includes(self)) return owned;
  const seeds = instances.map(seedOf);
  const selfIndex = instances.indexOf(self);
  for (let slot = 0; slot < SLOT_COUNT; slot++) {
    let best = -1;
    let bestScore = -1;
    for (let i = 0; i < seeds.length; i++) {
      const score = mix(seeds[i]! ^ Math.imul(slot + 1, 0x9e3779b1));
      // Ties (astronomically rare) go to the smaller id, so every instance agrees.
      if (score > bestScore || (score === bestScore && instances[i]! < instances[best]!)) {
        best = i;
        bestScore = score;
      }
    }
    if (best === selfIndex) owned.add(slot);
  }
  return owned;
}

/** FNV-1a over the id's characters. */
function seedOf(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The murmur3 finalizer: every input bit reaches every output bit. */
function mix(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
