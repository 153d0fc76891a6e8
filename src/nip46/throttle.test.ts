import assert from "node:assert/strict";
import {
  DEFAULT_UNCONNECTED_LIMITS,
  GLOBAL_LIMITED,
  SENDER_LIMITED,
  TOO_MANY_SENDERS,
  UnconnectedThrottle,
} from "./throttle.ts";
import { CLIENT_PUBKEY, OTHER_CLIENT_PUBKEY, T0, testAuthorization } from "./testing.ts";

/** The `i`-th of many distinct sender pubkeys. */
const sender = (i: number) => i.toString(16).padStart(64, "0");

/** Admits `count` requests from `senderPubkey` at `now`; returns how many passed. */
function admitMany(throttle: UnconnectedThrottle, senderPubkey: string, count: number, now = T0) {
  let admitted = 0;
  for (let i = 0; i < count; i++) if (!throttle.admit(senderPubkey, now)) admitted++;
  return admitted;
}

Deno.test("UnconnectedThrottle.admit() lets one sender through for its burst, then refuses it", () => {
  const throttle = new UnconnectedThrottle({}, T0);
  assert.equal(admitMany(throttle, CLIENT_PUBKEY, 1_000), 10);
  assert.equal(throttle.admit(CLIENT_PUBKEY, T0), SENDER_LIMITED);
  assert.equal(throttle.admit(OTHER_CLIENT_PUBKEY, T0), undefined, "others are not affected");
});

Deno.test("UnconnectedThrottle.admit() refills a sender's bucket with the injected clock", () => {
  const throttle = new UnconnectedThrottle({}, T0);
  admitMany(throttle, CLIENT_PUBKEY, 10);
  // 20 per minute: one token every 3 s.
  assert.equal(throttle.admit(CLIENT_PUBKEY, T0 + 2_999), SENDER_LIMITED);
  assert.equal(throttle.admit(CLIENT_PUBKEY, T0 + 3_000), undefined);
  assert.equal(throttle.admit(CLIENT_PUBKEY, T0 + 3_000), SENDER_LIMITED);
  assert.equal(admitMany(throttle, CLIENT_PUBKEY, 100, T0 + 3_600_000), 10, "full again");
});

Deno.test("UnconnectedThrottle.admit() refuses many senders at the global bucket, which refills", () => {
  const throttle = new UnconnectedThrottle({}, T0);
  let admitted = 0;
  for (let i = 0; i < 1_000; i++) {
    const refusal = throttle.admit(sender(i), T0);
    if (!refusal) admitted++;
    else assert.equal(refusal, GLOBAL_LIMITED);
  }
  assert.equal(admitted, 100);
  assert.equal(throttle.senders, 100, "only admitted senders get a bucket");
  // 50 per second.
  let later = 0;
  for (let i = 1_000; i < 2_000; i++) if (!throttle.admit(sender(i), T0 + 1_000)) later++;
  assert.equal(later, 50);
});

Deno.test("UnconnectedThrottle.admit() does not let a sender over its limit spend the global budget", () => {
  const throttle = new UnconnectedThrottle({ global: { perMinute: 60, burst: 12 } }, T0);
  assert.equal(admitMany(throttle, CLIENT_PUBKEY, 1_000), 10);
  assert.equal(admitMany(throttle, OTHER_CLIENT_PUBKEY, 1_000), 2, "the rest of the global burst");
});

Deno.test("UnconnectedThrottle.admit() holds at most maxSenders buckets and refuses new senders when full", () => {
  const throttle = new UnconnectedThrottle({ maxSenders: 3 }, T0);
  for (let i = 0; i < 3; i++) assert.equal(throttle.admit(sender(i), T0), undefined);
  assert.equal(throttle.admit(sender(3), T0), TOO_MANY_SENDERS);
  assert.equal(throttle.admit(sender(0), T0), undefined, "held senders keep their budget");
  assert.equal(throttle.senders, 3);
  // A bucket is held until an empty one would be full again (10 tokens at 20/min: 30 s).
  assert.equal(throttle.admit(sender(3), T0 + 29_999), TOO_MANY_SENDERS);
  assert.equal(throttle.admit(sender(3), T0 + 30_000), undefined);
  assert.equal(throttle.senders, 1, "the others expired");
  // An emptied bucket is kept, so a flooder is not given a fresh burst.
  assert.equal(admitMany(throttle, sender(3), 100, T0 + 30_000), 9);
  assert.equal(throttle.admit(sender(3), T0 + 32_999), SENDER_LIMITED);
  assert.equal(throttle.admit(sender(3), T0 + 33_000), undefined);
});

Deno.test("UnconnectedThrottle stays bounded under a flood of random keys", () => {
  const throttle = new UnconnectedThrottle({}, T0);
  let maxHeld = 0;
  for (let i = 0; i < 100_000; i++) {
    throttle.admit(sender(i), T0 + i); // 1,000 new keys a second for 100 s
    maxHeld = Math.max(maxHeld, throttle.senders);
  }
  // Admitted at 50/s after the burst of 100, each bucket held for 30 s after its last token.
  assert.ok(maxHeld <= DEFAULT_UNCONNECTED_LIMITS.global.burst + 50 * 30, `${maxHeld} buckets`);
  assert.ok(maxHeld < DEFAULT_UNCONNECTED_LIMITS.maxSenders);
});

Deno.test("UnconnectedThrottle.charge() never charges a connected client", () => {
  const throttle = new UnconnectedThrottle({ perSender: { perMinute: 1, burst: 1 } }, T0);
  const authorization = testAuthorization({
    clients: [
      { clientPubkey: CLIENT_PUBKEY, loggedOut: false },
      { clientPubkey: OTHER_CLIENT_PUBKEY, loggedOut: true },
    ],
  });
  for (let i = 0; i < 100; i++) {
    assert.equal(throttle.charge(authorization, CLIENT_PUBKEY, T0), undefined);
  }
  assert.equal(throttle.senders, 0);
  assert.equal(throttle.charge(authorization, OTHER_CLIENT_PUBKEY, T0), undefined);
  assert.equal(
    throttle.charge(authorization, OTHER_CLIENT_PUBKEY, T0),
    SENDER_LIMITED,
    "a client that logged out is charged",
  );
});

Deno.test("new UnconnectedThrottle() rejects limits that cannot work", () => {
  for (
    const limits of [
      { perSender: { perMinute: 0, burst: 10 } },
      { global: { perMinute: 60, burst: 0 } },
      { global: { perMinute: Number.NaN, burst: 1 } },
      { maxSenders: 0 },
      { maxSenders: 1.5 },
    ]
  ) {
    assert.throws(() => new UnconnectedThrottle(limits, T0), RangeError, JSON.stringify(limits));
  }
});
