/** Signing and verifying whole Nostr events with {@link SchnorrKey} and BIP340. */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { eventId, eventIdBytes, type EventTemplate, type NostrEvent } from "../nostr/event.ts";
import { type SchnorrKey, verifySchnorr } from "./schnorr.ts";

/**
 * Signs `template` with `key`: computes `pubkey`, `id` and `sig`. The signature is checked before
 * it is returned ({@link SchnorrKey.sign}), so the event always verifies.
 */
export function signEvent(key: SchnorrKey, template: EventTemplate): NostrEvent {
  const id = eventIdBytes(key.publicKeyHex, template);
  const sig = key.sign(id);
  return {
    id: bytesToHex(id),
    pubkey: key.publicKeyHex,
    created_at: template.created_at,
    kind: template.kind,
    tags: template.tags,
    content: template.content,
    sig: bytesToHex(sig),
  };
}

/** Why {@link checkEvent} rejected an event, or `"ok"`. */
export type EventCheck = "ok" | "id_mismatch" | "bad_signature";

/** Recomputes the id of a shape-checked event and verifies its signature (BIP340, noble). */
export function checkEvent(event: NostrEvent): EventCheck {
  if (eventId(event.pubkey, event) !== event.id) return "id_mismatch";
  const valid = verifySchnorr(
    hexToBytes(event.sig),
    hexToBytes(event.id),
    hexToBytes(event.pubkey),
  );
  return valid ? "ok" : "bad_signature";
}
