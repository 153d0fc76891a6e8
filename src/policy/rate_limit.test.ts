import assert from "node:assert/strict";
import { RateLimitRule } from "./rate_limit_rule.ts";
import type { PolicyRequest } from "./rule.ts";
import { BucketStore, TokenBucket } from "./token_bucket.ts";

const ALICE = "a".repeat(64);
const BOB = "b".repeat(64);
const req = (method: string, clientPubkey = ALICE): PolicyRequest => ({
  method,
  clientPubkey,
  userPubkey: "1".repeat(64),
});

/** Runs `count` requests at time `now` and returns how many were allowed. */
function allowed(rule: RateLimitRule, request: PolicyRequest, now: number, count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) if (rule.check(request, { now }).allow) n++;
  return n;
}

Deno.test("TokenBucket starts full, empties, and refills at the per-minute rate", () => {
  const bucket = new TokenBucket({ perMinute: 60, burst: 2 }, 1_000);
  assert.equal(bucket.waitMs(1_000), 0);
  bucket.take(1_000);
  bucket.take(1_000);
  assert.equal(bucket.waitMs(1_000), 1_000); // one token a second
  assert.equal(bucket.waitMs(1_500), 500);
  assert.equal(bucket.waitMs(2_000), 0);
  assert.equal(bucket.tokens(60_000), 2); // capped at the burst
});

Deno.test("TokenBucket adds nothing when the clock steps back", () => {
  const bucket = new TokenBucket({ perMinute: 60, burst: 1 }, 10_000);
  bucket.take(10_000);
  assert.equal(bucket.tokens(5_000), 0);
  assert.equal(bucket.waitMs(10_500), 500);
});

Deno.test("BucketStore keeps at most maxBuckets, evicting the least recently used", () => {
  const store = new BucketStore(2);
  const limit = { perMinute: 1, burst: 1 };
  const a = store.get("a", limit, 0);
  store.get("b", limit, 0);
  assert.equal(store.get("a", limit, 0), a); // "a" is now the most recent
  store.get("c", limit, 0); // evicts "b"
  assert.equal(store.size, 2);
  assert.equal(store.get("a", limit, 0), a);
  assert.notEqual(store.get("b", limit, 0), undefined);
  assert.equal(store.size, 2);
});

Deno.test("RateLimitRule allows a burst, then denies with the time to retry", () => {
  const rule = new RateLimitRule({ perClient: { per_minute: 6, burst: 3 } });
  assert.equal(allowed(rule, req("ping"), 0, 5), 3);
  assert.deepEqual(rule.check(req("ping"), { now: 0 }), {
    allow: false,
    reason: "rate-limited: over 6 requests a minute from this client; retry in 10 s",
  });
  assert.equal(allowed(rule, req("ping"), 9_999, 1), 0);
  assert.equal(allowed(rule, req("ping"), 10_000, 2), 1);
  assert.equal(allowed(rule, req("ping"), 40_000, 5), 3); // refilled to the burst, no more
});

Deno.test("RateLimitRule's burst defaults to per_minute", () => {
  const rule = new RateLimitRule({ perClient: { per_minute: 4 } });
  assert.equal(allowed(rule, req("ping"), 0, 10), 4);
});

Deno.test("RateLimitRule keeps one bucket per client", () => {
  const rule = new RateLimitRule({ perClient: { per_minute: 1 } });
  assert.equal(allowed(rule, req("ping", ALICE), 0, 2), 1);
  assert.equal(allowed(rule, req("ping", BOB), 0, 2), 1);
});

Deno.test("RateLimitRule limits a method per client apart from the other methods", () => {
  const rule = new RateLimitRule({
    perClient: { per_minute: 100, burst: 10 },
    perMethod: { sign_event: { per_minute: 600, burst: 2 } },
  });
  assert.equal(allowed(rule, req("sign_event"), 0, 3), 2);
  assert.deepEqual(rule.check(req("sign_event"), { now: 0 }), {
    allow: false,
    reason: "rate-limited: over 600 sign_event requests a minute from this client; retry in 1 s",
  });
  assert.equal(allowed(rule, req("sign_event", BOB), 0, 1), 1);
  // The denied sign_event requests took nothing from the client bucket: 10 - 2 remain 8.
  assert.equal(allowed(rule, req("ping"), 0, 20), 8);
  // 300 ms on, sign_event has refilled (600/min) but the client bucket holds half a token.
  assert.deepEqual(rule.check(req("sign_event"), { now: 300 }), {
    allow: false,
    reason: "rate-limited: over 100 requests a minute from this client; retry in 1 s",
  });
  assert.equal(allowed(rule, req("sign_event"), 600, 2), 1);
});

Deno.test("RateLimitRule holds a bounded number of buckets", () => {
  const rule = new RateLimitRule({ perClient: { per_minute: 1 }, maxBuckets: 50 });
  for (let i = 0; i < 200; i++) {
    rule.check(req("ping", i.toString(16).padStart(64, "0")), { now: 0 });
  }
  assert.equal(rule.bucketCount, 50);
});

Deno.test("RateLimitRule without limits allows everything and keeps no buckets", () => {
  const rule = new RateLimitRule({});
  assert.equal(allowed(rule, req("sign_event"), 0, 100), 100);
  assert.equal(rule.bucketCount, 0);
});
