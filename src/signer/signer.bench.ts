// Run: deno bench -A --unstable-worker-options src/signer/signer.bench.ts
import { schnorr } from "@noble/curves/secp256k1.js";
import { hexToBytes } from "@noble/hashes/utils.js";
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";
import * as nip44 from "nostr-tools/nip44";
import { eventIdBytes } from "../nostr/event.ts";
import { Vault } from "../vault/vault.ts";
import { SignerCore } from "./core.ts";
import { signEvent } from "./events.ts";
import { SignerPool } from "./pool.ts";
import { SchnorrKey } from "./schnorr.ts";
import { clientRequest, sealedKey, TEST_MASTER_KEY } from "./testing.ts";

const vault = await Vault.create(TEST_MASTER_KEY);
const bunker = await sealedKey(vault);
const user = await sealedKey(vault);
const clientSecret = generateSecretKey();
const clientPubkey = getPublicKey(clientSecret);
const template = {
  kind: 1,
  created_at: 1_700_000_000,
  tags: [["p", "ab".repeat(32)], ["t", "bench"]],
  content: "A short note of about the size people actually post. ".repeat(3),
};
const request = clientRequest(clientSecret, bunker.pubkey, {
  id: "bench-1",
  method: "sign_event",
  params: [JSON.stringify(template)],
});

const cached = new SignerCore(vault);
const uncached = new SignerCore(vault, { pairCacheSize: 0 });
const key = SchnorrKey.fromSecret(user.secret);
const message = eventIdBytes(key.publicKeyHex, template);
const signature = key.sign(message);
const conversationKey = nip44.getConversationKey(clientSecret, bunker.pubkey);
const bunkerKey = SchnorrKey.fromSecret(bunker.secret);
const pairCipher = cached.pair(bunkerKey, clientPubkey);
const payload = nip44.encrypt(
  JSON.stringify({ id: "1", result: "x".repeat(300) }),
  conversationKey,
);

Deno.bench("unwrap request (verify + NIP-44 decrypt), pair cache on", {
  group: "unwrap",
  baseline: true,
}, async () => {
  await cached.unwrap({ bunker: bunker.ref, event: request });
});
Deno.bench(
  "unwrap request (verify + NIP-44 decrypt), pair cache off",
  { group: "unwrap" },
  async () => {
    await uncached.unwrap({ bunker: bunker.ref, event: request });
  },
);

Deno.bench("NIP-44 decrypt, cached conversation key", { group: "decrypt", baseline: true }, () => {
  pairCipher.decrypt("nip44", payload);
});
Deno.bench("NIP-44 decrypt, ECDH every time", { group: "decrypt" }, () => {
  new TextEncoder().encode(
    nip44.decrypt(payload, nip44.getConversationKey(bunker.secret, clientPubkey)),
  );
});

Deno.bench(
  "reply: encrypt + sign the NIP-46 reply (respond, in-thread)",
  { group: "reply" },
  async () => {
    await cached.respond({
      bunker: bunker.ref,
      clientPubkey,
      scheme: "nip44",
      requestId: "bench-1",
      action: { type: "result", result: "x".repeat(300) },
      createdAt: 1_700_000_000,
    });
  },
);
Deno.bench("reply: NIP-44 encrypt only, cached conversation key", { group: "reply" }, () => {
  pairCipher.encrypt("nip44", JSON.stringify({ id: "bench-1", result: "x".repeat(300) }));
});

Deno.bench("SchnorrKey.sign (self-checked)", { group: "sign", baseline: true }, () => {
  key.sign(message);
});
Deno.bench("signEvent (hash + SchnorrKey.sign)", { group: "sign" }, () => {
  signEvent(key, template);
});
Deno.bench("nostr-tools finalizeEvent", { group: "sign" }, () => {
  finalizeEvent({ ...template }, user.secret);
});
Deno.bench("noble schnorr.sign", { group: "sign" }, () => {
  schnorr.sign(message, user.secret);
});

Deno.bench("SchnorrKey.isOwnSignature (self-check)", { group: "verify", baseline: true }, () => {
  key.isOwnSignature(signature, message);
});
Deno.bench("noble schnorr.verify", { group: "verify" }, () => {
  schnorr.verify(signature, message, hexToBytes(key.publicKeyHex));
});
const signed = signEvent(key, template);
Deno.bench("nostr-tools verifyEvent (uncached)", { group: "verify" }, () => {
  verifyEvent({ ...signed });
});

// One worker, requests sent one at a time: the latency of a full sign_event reply round trip.
const pool = new SignerPool({ masterKey: TEST_MASTER_KEY, workers: 1 });
await pool.ready();
// Deno.bench has no teardown hook: close the pool when the bench process unloads.
globalThis.addEventListener("unload", () => void pool.close());
Deno.bench(
  "pool.respond sign_event (worker round trip)",
  { group: "pool", baseline: true },
  async () => {
    await pool.respond({
      bunker: bunker.ref,
      clientPubkey,
      scheme: "nip44",
      requestId: "bench-1",
      action: { type: "sign_event", user: user.ref, template: JSON.stringify(template) },
    });
  },
);
Deno.bench("pool.unwrapRequest (worker round trip)", { group: "pool" }, async () => {
  await pool.unwrapRequest({ bunker: bunker.ref, event: request });
});
Deno.bench("pool.respond result (worker round trip)", { group: "pool" }, async () => {
  await pool.respond({
    bunker: bunker.ref,
    clientPubkey,
    scheme: "nip44",
    requestId: "bench-1",
    action: { type: "result", result: "pong" },
  });
});
