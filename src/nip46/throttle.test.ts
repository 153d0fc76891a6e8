import assert from "node:assert/strict";
import {
  BUNKER_LIMITED,
  DEFAULT_UNCONNECTED_LIMITS,
  GLOBAL_LIMITED,
  SENDER_LIMITED,
  TOO_MANY_SENDERS,
  UnconnectedThrottle,
} from "./throttle.ts";
import {
  BUNKER_PUBKEY,
  CLIENT_PUBKEY,
  OTHER_CLIENT_PUBKEY,
  T0,
  testAuthorization,
} from "./testing.ts";

/** The `i`-th of many distinct sender pubkeys. */
const sender = (i: number) => i.toString(16).padStart(64, "0");
/** The `i`-th of many distinct bunker pubkeys. */
const bunker = (i: number) => (i + 1).toString(16).padStart(64, "b");

/** Admits `count` requests from `senderPubkey` at `now`; returns how many passed. */
function admitMany(
  throttle: UnconnectedThrottle,
  senderPubkey: string,
  count: number,
  now = T0,
  bunkerPubkey = BUNKER_PUBKEY,
) {
  let admitted = 0;
  for (let i = 0; i < count; i++) if (!throttle.admit(senderPubkey, bunkerPubkey, now)) admitted++;
  return admitted;
}

Deno.test("UnconnectedThrottle.admit() lets one sender through for its burst, then refuses it", () => {
  const throttle = new UnconnectedThrottle({}, T0);
  assert.equal(admitMany(throttle, CLIENT_PUBKEY, 1_000), 10);
  assert.equal(throttle.admit(CLIENT_PUBKEY, BUNKER_PUBKEY, T0), SENDER_LIMITED);
  assert.equal(throttle.admit(OTHER_CLIENT_PUBKEY, BUNKER_PUBKEY, T0), undefined, "others pass");
});

Deno.test("UnconnectedThrottle.admit() refills a sender's bucket with the injected clock", () => {
  const throttle = new UnconnectedThrottle({}, T0);
  admitMany(throttle, CLIENT_PUBKEY, 10);
  // 20 per minute: one token every 3 s.
  assert.equal(throttle.admit(CLIENT_PUBKEY, BUNKER_PUBKEY, T0 + 2_999), SENDER_LIMITED);
  assert.equal(throttle.admit(CLIENT_PUBKEY, BUNKER_PUBKEY, T0 + 3_000), undefined);
  assert.equal(throttle.admit(CLIENT_PUBKEY, BUNKER_PUBKEY, T0 + 3_000), SENDER_LIMITED);
  assert.equal(admitMany(throttle, CLIENT_PUBKEY, 100, T0 + 3_600_000), 10, "full again");
});

Deno.test("UnconnectedThrottle.admit() limits the senders of one bunker together; other bunkers pass", () => {
  const throttle = new UnconnectedThrottle({}, T0);
  let admitted = 0;
  for (let i = 0; i < 1_000; i++) {
    const refusal = throttle.admit(sender(i), BUNKER_PUBKEY, T0);
    if (!refusal) admitted++;
    else assert.equal(refusal, BUNKER_LIMITED);
  }
  assert.equal(admitted, 60);
  for (let b = 0; b < 5; b++) {
    assert.equal(throttle.admit(sender(5_000 + b), bunker(b), T0), undefined, `bunker ${b}`);
  }
  // 20 per second: one token every 50 ms.
  assert.equal(throttle.admit(sender(6_000), BUNKER_PUBKEY, T0 + 49), BUNKER_LIMITED);
  assert.equal(throttle.admit(sender(6_000), BUNKER_PUBKEY, T0 + 50), undefined);
  assert.equal(throttle.bunkers, 6);
});

Deno.test("UnconnectedThrottle.admit() refuses many senders at the global bucket, which refills", () => {
  const throttle = new UnconnectedThrottle({}, T0);
  let admitted = 0;
  for (let i = 0; i < 2_000; i++) {
    const refusal = throttle.admit(sender(i), bunker(i % 20), T0);
    if (!refusal) admitted++;
    else assert.equal(refusal, GLOBAL_LIMITED);
  }
  assert.equal(admitted, 400);
  assert.equal(throttle.senders, 400, "only admitted senders get a bucket");
  // 200 per second.
  let later = 0;
  for (let i = 2_000; i < 4_000; i++) {
    if (!throttle.admit(sender(i), bunker(i % 20), T0 + 1_000)) later++;
  }
  assert.equal(later, 200);
});

Deno.test("UnconnectedThrottle.admit() does not let a sender or bunker over its limit spend the global budget", () => {
  const throttle = new UnconnectedThrottle({
    perBunker: { perMinute: 60, burst: 15 },
    global: { perMinute: 60, burst: 20 },
  }, T0);
  assert.equal(admitMany(throttle, CLIENT_PUBKEY, 1_000), 10);
  for (let i = 0; i < 100; i++) throttle.admit(sender(i), BUNKER_PUBKEY, T0);
  let others = 0;
  for (let i = 100; i < 200; i++) if (!throttle.admit(sender(i), bunker(1), T0)) others++;
  assert.equal(others, 5, "the rest of the global burst: 20 - 15");
});

Deno.test("UnconnectedThrottle.admit() holds at most maxSenders buckets and refuses new senders when full", () => {
  const throttle = new UnconnectedThrottle({ maxSenders: 3 }, T0);
  for (let i = 0; i < 3; i++) assert.equal(throttle.admit(sender(i), BUNKER_PUBKEY, T0), undefined);
  assert.equal(throttle.admit(sender(3), BUNKER_PUBKEY, T0), TOO_MANY_SENDERS);
  assert.equal(throttle.admit(sender(0), BUNKER_PUBKEY, T0), undefined, "held senders go on");
  assert.equal(throttle.senders, 3);
  // A bucket is held until an empty one would be full again (10 tokens at 20/min: 30 s).
  assert.equal(throttle.admit(sender(3), BUNKER_PUBKEY, T0 + 29_999), TOO_MANY_SENDERS);
  assert.equal(throttle.admit(sender(3), BUNKER_PUBKEY, T0 + 30_000), undefined);
  assert.equal(throttle.senders, 1, "the others expired");
  // An emptied bucket is kept, so a flooder is not given a fresh burst.
  assert.equal(admitMany(throttle, sender(3), 100, T0 + 30_000), 9);
  assert.equal(throttle.admit(sender(3), BUNKER_PUBKEY, T0 + 32_999), SENDER_LIMITED);
  assert.equal(throttle.admit(sender(3), BUNKER_PUBKEY, T0 + 33_000), undefined);
});

Deno.test("UnconnectedThrottle holds at most maxBunkers bunker buckets, forgetting the least recently used", () => {
  const throttle = new UnconnectedThrottle({ maxBunkers: 2 }, T0);
  for (let i = 0; i < 100; i++) throttle.admit(sender(i), bunker(0), T0);
  assert.equal(throttle.admit(sender(100), bunker(0), T0), BUNKER_LIMITED);
  assert.equal(throttle.admit(sender(101), bunker(1), T0), undefined);
  assert.equal(throttle.admit(sender(102), bunker(2), T0), undefined, "a new bunker always passes");
  assert.equal(throttle.bunkers, 2);
  assert.equal(throttle.admit(sender(103), bunker(0), T0), undefined, "the oldest was forgotten");
});

Deno.test("UnconnectedThrottle stays bounded under a flood of random keys", () => {
  const throttle = new UnconnectedThrottle({}, T0);
  let maxSenders = 0;
  let maxBunkers = 0;
  for (let i = 0; i < 100_000; i++) {
    throttle.admit(sender(i), bunker(i % 5_000), T0 + i); // 1,000 new keys a second for 100 s
    maxSenders = Math.max(maxSenders, throttle.senders);
    maxBunkers = Math.max(maxBunkers, throttle.bunkers);
  }
  const { global, maxSenders: cap } = DEFAULT_UNCONNECTED_LIMITS;
  // Admitted at 200/s after the burst of 400; a sender bucket is held 30 s after its last token,
  // a bunker bucket 3 s.
  assert.ok(maxSenders <= global.burst + 200 * 30, `${maxSenders} sender buckets`);
  assert.ok(maxSenders < cap);
  assert.ok(maxBunkers <= global.burst + 200 * 3, `${maxBunkers} bunker buckets`);
});

Deno.test("UnconnectedThrottle.admitReport() shares one budget of reported decisions", () => {
  const throttle = new UnconnectedThrottle({ auditRows: { perMinute: 60, burst: 5 } }, T0);
  let reported = 0;
  for (let i = 0; i < 100; i++) if (throttle.admitReport(T0)) reported++;
  assert.equal(reported, 5);
  assert.equal(throttle.admitReport(T0 + 999), false);
  assert.equal(throttle.admitReport(T0 + 1_000), true, "60 a minute: one a second");
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
      { perBunker: { perMinute: 60, burst: 0.5 } },
      { auditRows: { perMinute: Infinity, burst: 1 } },
      { maxSenders: 0 },
      { maxSenders: 1.5 },
      { maxBunkers: 0 },
    ]
  ) {
    assert.throws(() => new UnconnectedThrottle(limits, T0), RangeError, JSON.stringify(limits));
  }
});
