import assert from "node:assert/strict";
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import * as nip04 from "nostr-tools/nip04";
import * as nip44 from "nostr-tools/nip44";
import { hexToBytes } from "@noble/hashes/utils.js";
import { detectScheme, PairCipher } from "./ciphers.ts";
import { DecryptError, EncryptError } from "./errors.ts";
import { SchnorrKey } from "./schnorr.ts";

function pair(): { cipher: PairCipher; peerSecret: Uint8Array; ownPubkey: string } {
  const own = SchnorrKey.fromSecret(generateSecretKey());
  const peerSecret = generateSecretKey();
  const cipher = new PairCipher(own.sharedSecretX(hexToBytes(getPublicKey(peerSecret))));
  return { cipher, peerSecret, ownPubkey: own.publicKeyHex };
}

Deno.test("PairCipher NIP-44 round-trips with nostr-tools in both directions", () => {
  const { cipher, peerSecret, ownPubkey } = pair();
  const peerKey = nip44.getConversationKey(peerSecret, ownPubkey);
  const text = "ping \u{1F511} ".repeat(50);
  assert.equal(nip44.decrypt(cipher.encrypt("nip44", text), peerKey), text);
  assert.equal(cipher.decrypt("nip44", nip44.encrypt(text, peerKey)), text);
});

Deno.test("PairCipher NIP-04 round-trips with nostr-tools in both directions", () => {
  const { cipher, peerSecret, ownPubkey } = pair();
  for (const text of ["", "x", "sixteen bytes!!!", "é".repeat(100)]) {
    const sent = cipher.encrypt("nip04", text);
    assert.equal(detectScheme(sent), "nip04");
    assert.equal(nip04.decrypt(peerSecret, ownPubkey, sent), text);
    assert.equal(cipher.decrypt("nip04", nip04.encrypt(peerSecret, ownPubkey, text)), text);
  }
});

Deno.test("PairCipher.decrypt() raises DecryptError for forged or malformed payloads", () => {
  const { cipher, peerSecret, ownPubkey } = pair();
  const good = nip44.encrypt("hello", nip44.getConversationKey(peerSecret, ownPubkey));
  const forged = `${good.slice(0, 60)}${good[60] === "A" ? "B" : "A"}${good.slice(61)}`;
  assert.throws(() => cipher.decrypt("nip44", forged), (error: unknown) => {
    return error instanceof DecryptError && /invalid MAC/.test(error.message);
  });
  assert.throws(() => cipher.decrypt("nip44", "short"), DecryptError);
  const otherPeer = nip04.encrypt(generateSecretKey(), ownPubkey, "hello world, hello world");
  for (
    const payload of [otherPeer, "abc", "?iv=AAAA", "AAAA?iv=AAAAAAAAAAAAAAAAAAAAAA==", "%%?iv=%%"]
  ) {
    assert.throws(() => cipher.decrypt("nip04", payload), DecryptError, payload);
  }
});

Deno.test("PairCipher.encrypt() refuses an empty NIP-44 plaintext", () => {
  const { cipher } = pair();
  assert.throws(() => cipher.encrypt("nip44", ""), EncryptError);
});

Deno.test("detectScheme() picks NIP-04 only for payloads with ?iv=", () => {
  assert.equal(detectScheme("AgAAAA=="), "nip44");
  assert.equal(detectScheme("abc?iv=def"), "nip04");
});
