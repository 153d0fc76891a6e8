import assert from "node:assert/strict";
import { prng } from "../../tests/helpers/prng.ts";
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
  const backoff = new Backoff(opts, prng(46));
  const sameDraws = prng(46);
  for (let i = 0; i < 50; i++) {
    const delay = backoff.next();
    assert.equal(delay, backoffDelay(i, opts, sameDraws), `attempt ${i}`);
    assert.ok(delay < 1_000);
  }
  assert.equal(backoff.attempt, 50);
  backoff.reset();
  assert.equal(backoff.attempt, 0);
  assert.equal(backoff.next(), backoffDelay(0, opts, sameDraws));
});
