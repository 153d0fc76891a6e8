import assert from "node:assert/strict";
import { LruCache } from "./lru.ts";

Deno.test("LruCache.set() evicts the least recently used entry when full", () => {
  const cache = new LruCache<string, number>(2);
  cache.set("a", 1);
  cache.set("b", 2);
  assert.equal(cache.get("a"), 1); // "b" is now the least recently used
  cache.set("c", 3);
  assert.equal(cache.size, 2);
  assert.equal(cache.get("b"), undefined);
  assert.equal(cache.get("a"), 1);
  assert.equal(cache.get("c"), 3);
});

Deno.test("LruCache.set() replaces an existing key without growing", () => {
  const cache = new LruCache<string, number>(2);
  cache.set("a", 1);
  cache.set("a", 2);
  assert.equal(cache.size, 1);
  assert.equal(cache.get("a"), 2);
  assert.ok(cache.delete("a"));
  assert.equal(cache.delete("a"), false);
});

Deno.test("LruCache with capacity 0 stores nothing", () => {
  const cache = new LruCache<string, number>(0);
  cache.set("a", 1);
  assert.equal(cache.get("a"), undefined);
  assert.equal(cache.size, 0);
  assert.throws(() => new LruCache(-1), RangeError);
  assert.throws(() => new LruCache(1.5), RangeError);
});
