import assert from "node:assert/strict";
import { SLOT_COUNT, slotOf, slotsOf } from "./slots.ts";

/** Instance ids as the cluster makes them: 32 hex characters. */
const A = "0123456789abcdef0123456789abcdef";
const B = "fedcba9876543210fedcba9876543210";
const C = "00000000000000000000000000000001";
const D = "9f3c2a1b7e6d5c4b3a29181706f5e4d3";

/** Each slot's owner among `instances`; asserts there is exactly one. */
function owners(instances: string[]): Map<number, string> {
  const owner = new Map<number, string>();
  for (const id of instances) {
    for (const slot of slotsOf(id, instances)) {
      assert.equal(owner.get(slot), undefined, `slot ${slot} has two owners`);
      owner.set(slot, id);
    }
  }
  assert.equal(owner.size, SLOT_COUNT, "every slot has an owner");
  return owner;
}

Deno.test("slotOf() maps a bunker pubkey to its first three hex digits, in range", () => {
  assert.equal(slotOf("0".repeat(64)), 0);
  assert.equal(slotOf("f".repeat(64)), SLOT_COUNT - 1);
  assert.equal(slotOf("abc" + "0".repeat(61)), 0xabc);
  assert.equal(slotOf("abc" + "f".repeat(61)), 0xabc, "only the first three digits count");
  const pubkey = "7e4" + "5".repeat(61);
  assert.equal(slotOf(pubkey), slotOf(pubkey));
  for (let i = 0; i < 200; i++) {
    const random = [...crypto.getRandomValues(new Uint8Array(32))]
      .map((byte) => byte.toString(16).padStart(2, "0")).join("");
    const slot = slotOf(random);
    assert.ok(Number.isInteger(slot) && slot >= 0 && slot < SLOT_COUNT, random);
  }
});

Deno.test("slotsOf() gives a lone instance every slot, and a non-member none", () => {
  assert.equal(slotsOf(A, [A]).size, SLOT_COUNT);
  assert.equal(slotsOf(A, []).size, 0);
  assert.equal(slotsOf(D, [A, B, C]).size, 0);
});

Deno.test("slotsOf() gives every slot exactly one owner, whatever the order of the list", () => {
  const forward = owners([A, B, C]);
  const backward = owners([C, B, A]);
  assert.deepEqual([...backward].sort(([x], [y]) => x - y), [...forward].sort(([x], [y]) => x - y));
});

Deno.test("slotsOf() spreads the slots about evenly over three instances", () => {
  const instances = [A, B, C];
  for (const id of instances) {
    const share = slotsOf(id, instances).size / SLOT_COUNT;
    assert.ok(share >= 0.25 && share <= 0.42, `${id} serves ${(share * 100).toFixed(1)}%`);
  }
  // Random ids too, not only the hand-picked ones.
  const random = Array.from({ length: 3 }, () => crypto.randomUUID().replaceAll("-", ""));
  for (const id of random) {
    const share = slotsOf(id, random).size / SLOT_COUNT;
    assert.ok(share >= 0.25 && share <= 0.42, `${id} serves ${(share * 100).toFixed(1)}%`);
  }
});

Deno.test("slotsOf(): an instance that joins takes slots from the others and nothing else moves", () => {
  const before = owners([A, B, C]);
  const after = owners([A, B, C, D]);
  let moved = 0;
  for (const [slot, owner] of after) {
    if (owner === before.get(slot)) continue;
    assert.equal(owner, D, `slot ${slot} moved from ${before.get(slot)} to ${owner}`);
    moved++;
  }
  assert.equal(moved, slotsOf(D, [A, B, C, D]).size);
  assert.ok(moved > SLOT_COUNT / 8, `the new instance took ${moved} slots`);
});

Deno.test("slotsOf(): an instance that leaves hands over only its own slots", () => {
  const before = owners([A, B, C, D]);
  const after = owners([A, C, D]);
  for (const [slot, owner] of before) {
    if (owner === B) assert.notEqual(after.get(slot), B);
    else assert.equal(after.get(slot), owner, `slot ${slot} moved though ${owner} stayed`);
  }
});
