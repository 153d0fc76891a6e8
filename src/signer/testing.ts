/** Fixtures for the signer tests and benchmarks: sealed keys and NIP-46 messages built with nostr-tools. */
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";
import * as nip04 from "nostr-tools/nip04";
import * as nip44 from "nostr-tools/nip44";
import type { NostrEvent } from "../nostr/event.ts";
import type { Vault } from "../vault/vault.ts";
import type { KeyRef, Scheme } from "./protocol.ts";

/** A fixed 32-byte master key for tests. */
export const TEST_MASTER_KEY: Uint8Array = Uint8Array.from({ length: 32 }, (_, i) => 3 * i + 1);

/** A fresh key pair whose secret is sealed with `vault`. */
export interface TestKey {
  /** What the pool receives. */
  ref: KeyRef;
  /** The raw secret, for the nostr-tools side of a test. */
  secret: Uint8Array;
  /** Hex public key. */
  pubkey: string;
}

/** Generates a key and seals it with `vault`. */
export async function sealedKey(vault: Vault): Promise<TestKey> {
  const secret = generateSecretKey();
  const pubkey = getPublicKey(secret);
  return { ref: { pubkey, sealed: await vault.seal(secret, pubkey) }, secret, pubkey };
}

/** Encrypts `plaintext` from `secret` to `peerPubkey` the way a NIP-46 client does. */
export function clientEncrypt(
  scheme: Scheme,
  secret: Uint8Array,
  peerPubkey: string,
  plaintext: string,
): string {
  return scheme === "nip04"
    ? nip04.encrypt(secret, peerPubkey, plaintext)
    : nip44.encrypt(plaintext, nip44.getConversationKey(secret, peerPubkey));
}

/** Decrypts like a NIP-46 client. */
export function clientDecrypt(
  scheme: Scheme,
  secret: Uint8Array,
  peerPubkey: string,
  payload: string,
): string {
  return scheme === "nip04"
    ? nip04.decrypt(secret, peerPubkey, payload)
    : nip44.decrypt(payload, nip44.getConversationKey(secret, peerPubkey));
}

/** A kind 24133 request from `clientSecret` to `bunkerPubkey` carrying `message` as JSON. */
export function clientRequest(
  clientSecret: Uint8Array,
  bunkerPubkey: string,
  message: unknown,
  scheme: Scheme = "nip44",
): NostrEvent {
  return finalizeEvent({
    kind: 24133,
    created_at: Math.floor(Date.now() / 1000),
    tags: [["p", bunkerPubkey]],
    content: clientEncrypt(scheme, clientSecret, bunkerPubkey, JSON.stringify(message)),
  }, clientSecret);
}

/** Verifies a reply with nostr-tools and decrypts it on the client side. */
export function openReply(
  event: NostrEvent,
  clientSecret: Uint8Array,
  bunkerPubkey: string,
  scheme: Scheme,
): { id: string; result: string; error?: string } {
  if (!verifyEvent({ ...event })) throw new Error(`Reply "${event.id}" does not verify`);
  if (event.pubkey !== bunkerPubkey || event.kind !== 24133) {
    throw new Error(`Reply "${event.id}" is not a kind 24133 event from the bunker`);
  }
  return JSON.parse(clientDecrypt(scheme, clientSecret, bunkerPubkey, event.content));
}
