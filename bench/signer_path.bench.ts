/**
 * Micro benchmarks of one whole `sign_event` request as keycast handles it, with and without the
 * ECDH/conversation-key cache, in-thread and through a worker. They complete
 * `src/signer/signer.bench.ts` (single steps) and `src/channel/channel.bench.ts` (send → receive).
 *
 * Every bench function is `async`: `Deno.bench` awaits only async functions, not a returned promise.
 *
 * A cache miss is forced with a new peer on every call: a `SignerCore` with `pairCacheSize: 0`
 * in-thread, and in the worker (whose cache size is fixed) a rotation over more valid x-only
 * client pubkeys than its 8192-entry LRU holds.
 *
 *   deno bench -A bench/signer_path.bench.ts
 */
import { schnorr } from "@noble/curves/secp256k1.js";
import { bytesToNumberBE } from "@noble/curves/utils.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { SignerCore } from "../src/signer/core.ts";
import { SignerPool } from "../src/signer/pool.ts";
import { clientRequest, sealedKey, TEST_MASTER_KEY } from "../src/signer/testing.ts";
import { Vault } from "../src/vault/vault.ts";
import { benchTemplate } from "./lib/single_thread.ts";

const vault = await Vault.create(TEST_MASTER_KEY);
const bunker = await sealedKey(vault);
const user = await sealedKey(vault);
const clientSecret = generateSecretKey();
const template = JSON.stringify(benchTemplate(1_700_000_000));
const request = clientRequest(clientSecret, bunker.pubkey, {
  id: "bench-1",
  method: "sign_event",
  params: [template],
});
const clientPubkey = getPublicKey(clientSecret);
const reply = { type: "result", result: "x".repeat(300) } as const;
const signAction = { type: "sign_event", user: user.ref, template } as const;

/** Valid x-only pubkeys nobody holds the secret of: enough to cycle past the worker's LRU. */
function strangerPubkeys(count: number): string[] {
  const pubkeys: string[] = [];
  for (let tries = 0; pubkeys.length < count && tries < count * 4; tries++) {
    const x = crypto.getRandomValues(new Uint8Array(32));
    try {
      schnorr.utils.lift_x(bytesToNumberBE(x));
      pubkeys.push(bytesToHex(x));
    } catch {
      continue; // about half of all x values are not on the curve
    }
  }
  return pubkeys;
}
const strangers = strangerPubkeys(10_000);
let strangerIndex = 0;
const nextStranger = () => strangers[strangerIndex++ % strangers.length]!;

const cached = new SignerCore(vault);
const uncached = new SignerCore(vault, { pairCacheSize: 0 });

/** unwrap + respond(sign_event): the crypto of one request, as a worker runs it. */
async function fullRequest(core: SignerCore): Promise<void> {
  const unwrapped = await core.unwrap({ bunker: bunker.ref, event: request });
  await core.respond({
    bunker: bunker.ref,
    clientPubkey: unwrapped.clientPubkey,
    scheme: unwrapped.scheme,
    requestId: "bench-1",
    action: signAction,
    createdAt: 1_700_000_000,
  });
}

Deno.bench("sign_event request in-thread (verify, decrypt, sign, encrypt, sign), cache on", {
  group: "request",
  baseline: true,
}, async () => {
  await fullRequest(cached);
});
Deno.bench(
  "sign_event request in-thread, cache off (two ECDH)",
  { group: "request" },
  async () => {
    await fullRequest(uncached);
  },
);

const replyJob = (core: SignerCore) =>
  core.respond({
    bunker: bunker.ref,
    clientPubkey,
    scheme: "nip44",
    requestId: "bench-1",
    action: reply,
    createdAt: 1_700_000_000,
  });
Deno.bench("reply encrypt + sign in-thread, cache on", {
  group: "reply",
  baseline: true,
}, async () => {
  await replyJob(cached);
});
Deno.bench(
  "reply encrypt + sign in-thread, cache off (ECDH)",
  { group: "reply" },
  async () => {
    await replyJob(uncached);
  },
);

const pool = new SignerPool({ masterKey: TEST_MASTER_KEY, workers: 1 });
await pool.ready();
// Deno.bench has no teardown hook: close the pool when the bench process unloads.
globalThis.addEventListener("unload", () => void pool.close());

Deno.bench("sign_event request through 1 worker (unwrap + respond), cache on", {
  group: "worker",
  baseline: true,
}, async () => {
  const unwrapped = await pool.unwrapRequest({ bunker: bunker.ref, event: request });
  await pool.respond({
    bunker: bunker.ref,
    clientPubkey: unwrapped.clientPubkey,
    scheme: unwrapped.scheme,
    requestId: "bench-1",
    action: signAction,
  });
});
Deno.bench(
  "sign_event respond through 1 worker, cache on",
  { group: "worker" },
  async () => {
    await pool.respond({
      bunker: bunker.ref,
      clientPubkey,
      scheme: "nip44",
      requestId: "bench-1",
      action: signAction,
    });
  },
);
Deno.bench(
  "sign_event respond through 1 worker, new client each call (ECDH)",
  { group: "worker" },
  async () => {
    await pool.respond({
      bunker: bunker.ref,
      clientPubkey: nextStranger(),
      scheme: "nip44",
      requestId: "bench-1",
      action: signAction,
    });
  },
);
