/**
 * Shape checks for events arriving at the test relay, before any signature work.
 *
 * The relay keeps only the seven NIP-01 fields, so an extra property a client sends is never
 * stored or echoed back to subscribers.
 */
import { getEventHash, type NostrEvent, verifyEvent } from "nostr-tools/pure";

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

/** True when `value` is 64 lowercase hex characters (an event id or a public key). */
export function isHex64(value: unknown): value is string {
  return typeof value === "string" && HEX64.test(value);
}

/** True for NIP-01 ephemeral kinds (20000–29999), which the relay delivers but never stores. */
export function isEphemeralKind(kind: number): boolean {
  return kind >= 20000 && kind < 30000;
}

/** Result of {@link parseEvent}: the normalized event, or why it was rejected. */
export type ParsedEvent = { ok: true; event: NostrEvent } | { ok: false; reason: string };

/** Checks the structure of an untrusted event and copies out its NIP-01 fields. */
export function parseEvent(raw: unknown): ParsedEvent {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { ok: false, reason: "event must be a JSON object" };
  }
  const { id, pubkey, created_at, kind, tags, content, sig } = raw as Record<string, unknown>;
  if (!isHex64(id)) return { ok: false, reason: "event id must be 64 lowercase hex characters" };
  if (!isHex64(pubkey)) return { ok: false, reason: "pubkey must be 64 lowercase hex characters" };
  if (typeof sig !== "string" || !HEX128.test(sig)) {
    return { ok: false, reason: "sig must be 128 lowercase hex characters" };
  }
  if (!Number.isSafeInteger(created_at) || (created_at as number) < 0) {
    return { ok: false, reason: `created_at "${created_at}" must be a non-negative integer` };
  }
  if (!Number.isInteger(kind) || (kind as number) < 0 || (kind as number) > 65535) {
    return { ok: false, reason: `kind "${kind}" must be an integer from 0 to 65535` };
  }
  if (!Array.isArray(tags) || !tags.every(isStringArray)) {
    return { ok: false, reason: "tags must be an array of string arrays" };
  }
  if (typeof content !== "string") return { ok: false, reason: "content must be a string" };
  return {
    ok: true,
    event: {
      id,
      pubkey,
      created_at: created_at as number,
      kind: kind as number,
      tags: tags as string[][],
      content,
      sig,
    },
  };
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/** Why the id or signature of `event` is wrong, or `undefined` when both are valid. */
export function signatureProblem(event: NostrEvent): string | undefined {
  return verifyEvent(event) ? undefined : idProblem(event) ?? "bad signature";
}

/** Why the id of `event` is wrong, or `undefined` when it is the hash of the content. */
export function idProblem(event: NostrEvent): string | undefined {
  return getEventHash(event) === event.id ? undefined : "id does not match the event content";
}
