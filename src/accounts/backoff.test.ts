import assert from "node:assert/strict";
import { BackoffTable, EVICTION_SCAN } from "./backoff.ts";

const T0 = 1_800_000_000_000;
const LIMIT = { free: 1, baseMs: 1_000, maxMs: 60_000, forgetMs: 3_600_000 };

Deno.test("BackoffTable evicts keys within their free failures before keys in backoff", () => {
  const table = new BackoffTable(LIMIT, 3);
  table.fail("guessed", T0);
  table.fail("guessed", T0);
  table.fail("quiet", T0);
  table.fail("other", T0);
  table.fail("new", T0);
  assert.equal(table.size, 3);
  assert.equal(table.waitMs("guessed", T0), 1_000, "in backoff: spared though oldest");
  table.fail("quiet", T0); // gone: counted afresh, so within its free failure
  assert.equal(table.waitMs("quiet", T0), 0);
});

Deno.test("BackoffTable forgets the oldest key when every key it looks at is in backoff", () => {
  const table = new BackoffTable(LIMIT, EVICTION_SCAN + 1);
  for (let i = 0; i <= EVICTION_SCAN; i++) {
    table.fail(`k${i}`, T0);
    table.fail(`k${i}`, T0);
  }
  table.fail("new", T0);
  assert.equal(table.size, EVICTION_SCAN + 1);
  assert.equal(table.waitMs("new", T0), 0, "the key just failed stays");
  const held = Array.from({ length: EVICTION_SCAN + 1 }, (_, i) => table.waitMs(`k${i}`, T0));
  assert.equal(held.filter((waitMs) => waitMs === 0).length, 1, "one key was forgotten");
  table.fail("new", T0);
  assert.equal(table.waitMs("new", T0), 1_000, "its failure was kept");
});

Deno.test("BackoffTable forgets a key's failures after forgetMs, and refund takes one back", () => {
  const table = new BackoffTable(LIMIT, 10);
  for (let i = 0; i < 3; i++) table.fail("a", T0);
  assert.equal(table.waitMs("a", T0), 2_000);
  table.refund("a");
  assert.equal(table.waitMs("a", T0), 1_000);
  assert.equal(table.waitMs("a", T0 + LIMIT.forgetMs), 0);
  assert.equal(table.size, 0);
});
