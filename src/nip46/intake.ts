/**
 * Intake of relay events: the checks that run on the main thread before any crypto, so garbage
 * and events for other bunkers cost microseconds, not a worker job.
 */
import type { ActiveAuthorization } from "../domain/authorization.ts";
import { type NostrEvent, serializeEvent } from "../nostr/event.ts";
import { isHex64, sha256Hex } from "../util/hex.ts";
import { NIP46_KIND } from "../nostr/kinds.ts";
import { MAX_REQUEST_CONTENT_CHARS } from "../nostr/nip46.ts";
import type { ListenerDirectory } from "./listener_types.ts";
import type { SeenSet } from "./seen.ts";

/** Most tags a request event may carry (clients send one `p` tag). */
export const MAX_TAGS = 32;

/** Outcome of {@link precheckEvent}: the event and the bunker it names, or why to drop it. */
export type Precheck =
  | { kind: "drop"; reason: string }
  | { kind: "accepted"; event: NostrEvent; bunkerPubkey: string };

/**
 * The cheap checks on the main thread, in order: object, kind, hex id/pubkey, content size, tags,
 * the stale window, and a `p` tag naming a bunker pubkey we serve. Returns the event and that
 * bunker pubkey, or the reason to drop it.
 */
export function precheckEvent(
  raw: unknown,
  opts: { nowMs: number; windowSeconds: number; serves: (bunkerPubkey: string) => boolean },
): Precheck {
  if (typeof raw !== "object" || raw === null) return drop("not an object");
  // Untrusted JSON from a relay: every field stays unknown until it is checked.
  const event: { readonly [field in keyof NostrEvent]?: unknown } = raw;
  if (event.kind !== NIP46_KIND) return drop("wrong kind");
  if (!isHex64(event.id) || !isHex64(event.pubkey) || typeof event.sig !== "string") {
    return drop("bad shape");
  }
  if (typeof event.content !== "string" || event.content.length > MAX_REQUEST_CONTENT_CHARS) {
    return drop("bad content");
  }
  if (typeof event.created_at !== "number" || !Array.isArray(event.tags)) return drop("bad shape");
  if (event.tags.length > MAX_TAGS) return drop("too many tags");
  const skew = Math.abs(opts.nowMs / 1000 - event.created_at);
  if (skew > opts.windowSeconds) return drop("stale");
  const bunkerPubkey = servedBunker(event.tags, opts.serves);
  if (!bunkerPubkey) return drop("no loaded bunker in #p");
  // The fields above are checked; the tags' items and the signature are checked in the worker.
  return { kind: "accepted", event: raw as NostrEvent, bunkerPubkey };
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

/** The duplicate-set key of an event: copies from several relays share id and sig. */
export function eventKey(event: NostrEvent): string {
  return `${event.id}:${event.sig}`;
}

/** What {@link admitEvent} reads and records. */
export interface IntakeDeps {
  /** Live and recently removed authorizations. */
  directory: Pick<ListenerDirectory, "get" | "removed">;
  /** Events already taken in, by {@link eventKey}. */
  seenEvents: SeenSet;
  /** Requests older (or further in the future) than this are dropped, in seconds. */
  windowSeconds: number;
  /** Clock in ms. */
  now: () => number;
}

/** Outcome of {@link admitEvent}: drop it, drop it as a copy already taken in, or go on. */
export type Intake =
  | { kind: "drop"; reason: string }
  | { kind: "duplicate" }
  | {
    kind: "accepted";
    event: NostrEvent;
    bunkerPubkey: string;
    /** The live authorization of `bunkerPubkey`, else its tombstone. */
    authorization: ActiveAuthorization;
  };

/**
 * The intake stage: {@link precheckEvent}, then the id must be the hash of the content, then a
 * copy already taken in is a duplicate. Copies of one event from several relays share id and sig;
 * the id is checked against the content first, so that a copy altered by a hostile relay (same id
 * and sig, other content) cannot take the real event's place in the duplicate set.
 */
export async function admitEvent(raw: unknown, deps: IntakeDeps): Promise<Intake> {
  const precheck = precheckEvent(raw, {
    nowMs: deps.now(),
    windowSeconds: deps.windowSeconds,
    serves: (bunkerPubkey) => lookup(deps.directory, bunkerPubkey) !== undefined,
  });
  if (precheck.kind === "drop") return precheck;
  const { event, bunkerPubkey } = precheck;
  if (!await idMatchesContent(event)) return drop("id does not match content");
  if (!deps.seenEvents.add(eventKey(event), deps.now())) return { kind: "duplicate" };
  // Looked up again: the authorization may have gone while the id was hashed.
  const authorization = lookup(deps.directory, bunkerPubkey);
  if (!authorization) return drop("unknown bunker pubkey");
  return { kind: "accepted", event, bunkerPubkey, authorization };
}

function lookup(
  directory: Pick<ListenerDirectory, "get" | "removed">,
  bunkerPubkey: string,
): ActiveAuthorization | undefined {
  return directory.get(bunkerPubkey) ?? directory.removed(bunkerPubkey);
}

/** The first `p` tag naming a bunker pubkey we serve, like `tags.find(...)?.[1]`. */
function servedBunker(
  tags: readonly unknown[],
  serves: (bunkerPubkey: string) => boolean,
): string | undefined {
  for (const tag of tags) {
    if (!Array.isArray(tag) || tag[0] !== "p") continue;
    const bunkerPubkey: unknown = tag[1];
    if (typeof bunkerPubkey === "string" && serves(bunkerPubkey)) return bunkerPubkey;
  }
  return undefined;
}

function drop(reason: string): { kind: "drop"; reason: string } {
  return { kind: "drop", reason };
}
