import assert from "node:assert/strict";
import { FORGED_LIMITED, ForgedThrottle, UNTRACKED } from "./forged.ts";
import { BUNKER_PUBKEY, CLIENT_PUBKEY, OTHER_CLIENT_PUBKEY, T0 } from "./testing.ts";

const RELAY = "wss://in.test";

/** Admits one event claiming `claimed` through `relay` at `now`, and settles it as `forged`. */
function check(throttle: ForgedThrottle, forged: boolean, now = T0, claimed = CLIENT_PUBKEY) {
  const claim = throttle.admit(BUNKER_PUBKEY, claimed, RELAY, now);
  throttle.settle(claim, forged, now);
  return claim.admitted;
}

Deno.test("ForgedThrottle.admit() lets everything through for a key that never had a forgery", () => {
  const throttle = new ForgedThrottle({ perClaim: { perMinute: 60, burst: 2 } });
  for (let i = 0; i < 100; i++) assert.equal(check(throttle, false), true);
  assert.equal(throttle.claims, 0, "no bucket, no bookkeeping");
});

Deno.test("ForgedThrottle counts invalid signatures per claimed sender and relay, and refills", () => {
  const throttle = new ForgedThrottle({ perClaim: { perMinute: 60, burst: 3 } });
  for (let i = 0; i < 3; i++) assert.equal(check(throttle, true), true);
  assert.deepEqual(throttle.admit(BUNKER_PUBKEY, CLIENT_PUBKEY, RELAY, T0), {
    admitted: false,
    reason: FORGED_LIMITED,
  });
  assert.equal(check(throttle, false, T0, OTHER_CLIENT_PUBKEY), true, "another claimed sender");
  const elsewhere = throttle.admit(BUNKER_PUBKEY, CLIENT_PUBKEY, "wss://other.test", T0);
  assert.equal(elsewhere.admitted, true, "another relay");
  const otherBunker = throttle.admit("1".repeat(64), CLIENT_PUBKEY, RELAY, T0);
  assert.equal(otherBunker.admitted, true, "another bunker");
  // 60 a minute: one more every second.
  assert.equal(check(throttle, true, T0 + 999), false);
  assert.equal(check(throttle, true, T0 + 1_000), true);
  assert.equal(check(throttle, true, T0 + 1_000), false);
  // Forgotten once full again (3 tokens at 60/min: 3 s after the last failure).
  assert.equal(throttle.claims, 1);
  assert.equal(check(throttle, false, T0 + 4_000), true);
  assert.equal(throttle.claims, 0);
});

Deno.test("ForgedThrottle counts events in flight against a suspect key; genuine ones give their place back", () => {
  const throttle = new ForgedThrottle({ perClaim: { perMinute: 60, burst: 4 } });
  check(throttle, true); // 3 tokens left
  const claims = Array.from(
    { length: 5 },
    () => throttle.admit(BUNKER_PUBKEY, CLIENT_PUBKEY, RELAY, T0),
  );
  assert.deepEqual(claims.map((claim) => claim.admitted), [true, true, true, false, false]);
  for (const claim of claims) throttle.settle(claim, false, T0);
  for (let i = 0; i < 50; i++) {
    assert.equal(check(throttle, false), true, "genuine: no token taken");
  }
  assert.deepEqual(
    Array.from(
      { length: 4 },
      () => throttle.admit(BUNKER_PUBKEY, CLIENT_PUBKEY, RELAY, T0).admitted,
    ),
    [true, true, true, false],
  );
});

Deno.test("ForgedThrottle ignores an untracked claim, and holds at most maxClaims buckets", () => {
  const throttle = new ForgedThrottle({ maxClaims: 2 });
  throttle.settle(UNTRACKED, true, T0);
  assert.equal(throttle.claims, 0);
  for (const relay of ["wss://a.test", "wss://b.test", "wss://c.test"]) {
    throttle.settle(throttle.admit(BUNKER_PUBKEY, CLIENT_PUBKEY, relay, T0), true, T0);
  }
  assert.equal(throttle.claims, 2);
});

Deno.test("new ForgedThrottle() rejects limits that cannot work", () => {
  for (
    const limits of [
      { perClaim: { perMinute: 0, burst: 1 } },
      { perClaim: { perMinute: 60, burst: 0 } },
      { maxClaims: 0 },
    ]
  ) {
    assert.throws(() => new ForgedThrottle(limits), RangeError, JSON.stringify(limits));
  }
});
