import assert from "node:assert/strict";
import { Vault } from "../vault/vault.ts";
import { KeyUnavailableError } from "./errors.ts";
import { KeyCache } from "./keys.ts";
import { sealedKey, TEST_MASTER_KEY } from "./testing.ts";

/** A vault whose `open` calls are counted (`real` seals the test keys). */
async function countingVault(): Promise<{ vault: Vault; real: Vault; opens: () => number }> {
  const vault = await Vault.create(TEST_MASTER_KEY);
  let count = 0;
  const counting = Object.create(vault) as Vault;
  counting.open = (sealed, pubkey) => {
    count++;
    return vault.open(sealed, pubkey);
  };
  return { vault: counting, real: vault, opens: () => count };
}

Deno.test("KeyCache.get() opens a key once, also for concurrent callers", async () => {
  const { vault, real, opens } = await countingVault();
  const key = await sealedKey(real);
  const cache = new KeyCache(vault, 4);
  const [first, second] = await Promise.all([cache.get(key.ref), cache.get(key.ref)]);
  assert.equal(first, second);
  assert.equal((await cache.get(key.ref)).publicKeyHex, key.pubkey);
  assert.equal(opens(), 1);
});

Deno.test("KeyCache.get() does not keep a failed open, so a later call tries again", async () => {
  const { vault, real, opens } = await countingVault();
  const key = await sealedKey(real);
  const cache = new KeyCache(vault, 4);
  const broken = { pubkey: key.pubkey, sealed: `${key.ref.sealed.slice(0, -4)}AAAA` };
  await assert.rejects(cache.get(broken), KeyUnavailableError);
  await assert.rejects(cache.get(broken), KeyUnavailableError);
  assert.equal(opens(), 2);
});

Deno.test("KeyCache.get() evicts the least recently used key beyond its capacity", async () => {
  const { vault, real, opens } = await countingVault();
  const [a, b] = [await sealedKey(real), await sealedKey(real)];
  const cache = new KeyCache(vault, 1);
  await cache.get(a.ref);
  await cache.get(b.ref);
  await cache.get(a.ref);
  assert.equal(opens(), 3);
});
