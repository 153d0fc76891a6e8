/**
 * Intake of relay events: the checks that run on the main thread before any crypto, so garbage
 * and events for other bunkers cost microseconds, not a worker job.
 */
import { type NostrEvent, serializeEvent } from "../nostr/event.ts";
import { isHex64, sha256Hex } from "../util/hex.ts";
import { NIP46_KIND } from "../nostr/kinds.ts";
import { MAX_REQUEST_CONTENT_CHARS } from "../nostr/nip46.ts";

/** Most tags a request event may carry (clients send one `p` tag). */
export const MAX_TAGS = 32;

/**
 * The cheap checks on the main thread, in order: object, kind, hex id/pubkey, content size, tags,
 * the stale window, and a `p` tag naming a bunker pubkey we serve. Returns the event and that
 * bunker pubkey, or the reason to drop it.
 */
export function precheckEvent(
  raw: unknown,
  opts: { nowMs: number; windowSeconds: number; serves: (bunkerPubkey: string) => boolean },
): { event: NostrEvent; bunkerPubkey: string } | string {
  if (typeof raw !== "object" || raw === null) return "not an object";
  const event = raw as Partial<NostrEvent>;
  if (event.kind !== NIP46_KIND) return "wrong kind";
  if (!isHex64(event.id) || !isHex64(event.pubkey) || typeof event.sig !== "string") {
    return "bad shape";
  }
  if (typeof event.content !== "string" || event.content.length > MAX_REQUEST_CONTENT_CHARS) {
    return "bad content";
  }
  if (typeof event.created_at !== "number" || !Array.isArray(event.tags)) return "bad shape";
  if (event.tags.length > MAX_TAGS) return "too many tags";
  const skew = Math.abs(opts.nowMs / 1000 - event.created_at);
  if (skew > opts.windowSeconds) return "stale";
  const bunkerPubkey = event.tags.find((tag) =>
    Array.isArray(tag) && tag[0] === "p" && typeof tag[1] === "string" &&
    opts.serves(tag[1])
  )?.[1] as string | undefined;
  if (!bunkerPubkey) return "no loaded bunker in #p";
  return { event: event as NostrEvent, bunkerPubkey };
}

/** True when `event.id` is the SHA-256 of its canonical serialization (WebCrypto, off the JS thread). */
export async function idMatchesContent(event: NostrEvent): Promise<boolean> {
  let serialized: string;
  try {
    serialized = serializeEvent(event.pubkey, event);
  } catch {
    return false; // Not serializable (cannot come from JSON, but then it is no event either).
  }
  return await sha256Hex(serialized) === event.id;
}
