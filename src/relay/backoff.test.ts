import assert from "node:assert/strict";
import { Backoff, backoffDelay } from "./backoff.ts";

const opts = { initialMs: 100, maxMs: 1_000 };

Deno.test("backoffDelay() stays within the doubling ceiling capped at maxMs", () => {
  assert.equal(backoffDelay(0, opts, () => 0.999_999), 99);
  assert.equal(backoffDelay(2, opts, () => 0.999_999), 399);
  assert.equal(backoffDelay(10, opts, () => 0.999_999), 999);
  assert.equal(backoffDelay(1_000, opts, () => 0.5), 500);
  assert.equal(backoffDelay(3, opts, () => 0), 0);
});

Deno.test("Backoff.next() grows the ceiling and reset() starts over", () => {
  const backoff = new Backoff(opts);
  for (let i = 0; i < 50; i++) assert.ok(backoff.next() < 1_000);
  assert.equal(backoff.attempt, 50);
  backoff.reset();
  assert.equal(backoff.attempt, 0);
  assert.ok(backoff.next() < 100);
});
