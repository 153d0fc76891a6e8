/** Signing and verifying whole Nostr events with {@link SchnorrKey} and BIP340. */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { eventId, eventIdBytes, type EventTemplate, type NostrEvent } from "../nostr/event.ts";
import { type SchnorrKey, verifySchnorr } from "./schnorr.ts";
import type { SchnorrVerifier } from "./verifier.ts";

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

/**
 * Recomputes the id of a shape-checked event and verifies its signature (BIP340), through
 * `verifier`'s per-key cache when given, else with noble's `schnorr.verify`.
 */
export function checkEvent(event: NostrEvent, verifier?: SchnorrVerifier): EventCheck {
  if (eventId(event.pubkey, event) !== event.id) return "id_mismatch";
  const args = [hexToBytes(event.sig), hexToBytes(event.id), hexToBytes(event.pubkey)] as const;
  const valid = verifier ? verifier.verify(...args) : verifySchnorr(...args);
  return valid ? "ok" : "bad_signature";
}
