/**
 * The listener's defences against cheap abuse, over fakes: unconnected senders are rate-limited
 * before any worker job (connected clients never are), and a repeated request id gets the reply
 * kept for it again instead of a second job.
 */
import assert from "node:assert/strict";
import { UNAVAILABLE } from "./decide.ts";
import { DUPLICATE_WINDOW_MS } from "./listener.ts";
import { droppedLine, fakeListener, RELAY_IN } from "./listener_testing.ts";
import { GLOBAL_LIMITED, SENDER_LIMITED, TOO_MANY_SENDERS } from "./throttle.ts";
import { CLIENT_PUBKEY, OTHER_CLIENT_PUBKEY, TEST_SECRET } from "./testing.ts";

/** The `i`-th of many distinct sender pubkeys, none of them connected. */
const stranger = (i: number) => (i + 1).toString(16).padStart(64, "0");

Deno.test("Listener drops a flood from one unconnected key after its burst, with no worker job", async () => {
  const t = fakeListener();
  const flood = Array.from(
    { length: 1_000 },
    (_, i) => t.request({ id: `f${i}`, method: "ping" }, OTHER_CLIENT_PUBKEY, `flood-${i}`),
  );
  await t.deliver(...flood);
  assert.equal(t.signer.unwraps.length, 10, "one unwrap per admitted request");
  assert.equal(t.signer.responds.length, 10);
  assert.equal(t.publisher.published.length, 10);
  assert.equal(t.listener.stats.unconnectedDropped, 990);
  assert.equal(t.listener.stats.dropped, 990);
  assert.ok(t.records.every((record) => record.level === "debug"), "nothing logged above debug");
  assert.deepEqual(t.records[0], droppedLine(SENDER_LIMITED));
});

Deno.test("Listener drops unconnected senders past the global bucket", async () => {
  const t = fakeListener({ unconnectedLimits: { global: { perMinute: 60, burst: 20 } } });
  await t.deliver(
    ...Array.from({ length: 50 }, (_, i) => t.request({ id: "p", method: "ping" }, stranger(i))),
  );
  assert.equal(t.signer.unwraps.length, 20);
  assert.equal(t.listener.stats.unconnectedDropped, 30);
  assert.deepEqual(t.records[0], droppedLine(GLOBAL_LIMITED));
});

Deno.test("Listener never drops a connected client's requests during a flood of strangers", async () => {
  const t = fakeListener();
  const events = [];
  for (let i = 0; i < 1_000; i++) {
    events.push(t.request({ id: `f${i}`, method: "ping" }, stranger(i % 300), `flood-${i}`));
    if (i % 20 === 0) {
      events.push(t.request({ id: `c${i}`, method: "get_public_key" }, CLIENT_PUBKEY, `c-${i}`));
    }
  }
  await t.deliver(...events);
  const served = t.decisions.filter((decision) => decision.clientPubkey === CLIENT_PUBKEY);
  assert.equal(served.length, 50);
  assert.ok(served.every((decision) => decision.decision === "allow"));
  // The strangers got at most their bunker's burst.
  assert.equal(t.decisions.length - served.length, 60);
  assert.equal(t.listener.stats.unconnectedDropped, 940);
});

Deno.test("Listener refills the unconnected buckets with the injected clock", async () => {
  const t = fakeListener();
  const burst = (from: number, count: number) =>
    Array.from(
      { length: count },
      (_, i) =>
        t.request({ id: `f${from + i}`, method: "ping" }, OTHER_CLIENT_PUBKEY, `f-${from + i}`),
    );
  await t.deliver(...burst(0, 20));
  assert.equal(t.signer.unwraps.length, 10);
  t.clock.ms += 3_000; // 20 per minute: one more token
  await t.deliver(...burst(20, 5));
  assert.equal(t.signer.unwraps.length, 11);
  t.clock.ms += 60_000;
  await t.deliver(...burst(25, 20));
  assert.equal(t.signer.unwraps.length, 21, "a full burst again");
});

Deno.test("Listener refuses new unconnected senders once every sender bucket is in use", async () => {
  const t = fakeListener({ unconnectedLimits: { maxSenders: 5 } });
  await t.deliver(
    ...Array.from({ length: 20 }, (_, i) => t.request({ id: "p", method: "ping" }, stranger(i))),
  );
  assert.equal(t.signer.unwraps.length, 5);
  assert.deepEqual(t.records[0], droppedLine(TOO_MANY_SENDERS));
  t.clock.ms += 30_000;
  await t.deliver(t.request({ id: "p", method: "ping" }, stranger(100)));
  assert.equal(t.signer.unwraps.length, 6, "expired buckets make room");
});

Deno.test("Listener lets an unconnected client pair, then no longer charges it", async () => {
  const t = fakeListener({ unconnectedLimits: { perSender: { perMinute: 1, burst: 1 } } });
  await t.deliver(
    t.request({ id: "c1", method: "connect", params: ["", TEST_SECRET] }, OTHER_CLIENT_PUBKEY),
  );
  await t.deliver(
    ...Array.from(
      { length: 30 },
      (_, i) => t.request({ id: `k${i}`, method: "get_public_key" }, OTHER_CLIENT_PUBKEY, `${i}`),
    ),
  );
  assert.equal(t.decisions.length, 31);
  assert.ok(t.decisions.every((decision) => decision.decision === "allow"));
  assert.equal(t.listener.stats.unconnectedDropped, 0);
});

Deno.test("Listener sends the kept reply again for a repeated request id: one job, one decision", async () => {
  const t = fakeListener();
  await t.deliver(t.request({ id: "r1", method: "get_public_key" }, CLIENT_PUBKEY, "first"));
  const again = t.request({ id: "r1", method: "get_public_key" }, CLIENT_PUBKEY, "second");
  t.listener.handleEvent(again, "wss://other.test");
  await t.deliver();
  assert.equal(t.signer.unwraps.length, 2, "the id is inside the encrypted content");
  assert.equal(t.signer.responds.length, 1, "answered once");
  assert.equal(t.decisions.length, 1, "one audit row");
  const [first, second] = t.publisher.published;
  assert.equal(second?.event.content, first?.event.content, "the same encrypted reply");
  assert.deepEqual(t.signer.signed, [{
    kind: first?.event.kind,
    created_at: (first?.event.created_at ?? 0) + 1,
    tags: first?.event.tags,
    content: first?.event.content,
  }], "a fresh envelope signed by the bunker key, nothing else signed");
  assert.deepEqual(second?.relays, ["wss://other.test", "wss://relay.test"]);
  assert.deepEqual(
    [t.listener.stats.answered, t.listener.stats.resent, t.listener.stats.duplicates],
    [2, 1, 0],
  );
  assert.deepEqual(t.records, []);
});

Deno.test("Listener drops a repeated request id while the first is in flight", async () => {
  const t = fakeListener();
  let release = () => {};
  t.signer.respondGate = new Promise((resolve) => (release = resolve));
  t.listener.handleEvent(t.request({ id: "r1", method: "ping" }, CLIENT_PUBKEY, "a"), RELAY_IN);
  for (let i = 0; i < 100 && t.signer.responds.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert.equal(t.signer.responds.length, 1, "the first is being answered");
  t.listener.handleEvent(t.request({ id: "r1", method: "ping" }, CLIENT_PUBKEY, "b"), RELAY_IN);
  for (let i = 0; i < 100 && t.listener.stats.duplicates === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  release();
  await t.deliver();
  assert.equal(t.publisher.published.length, 1);
  assert.deepEqual([t.listener.stats.duplicates, t.listener.stats.resent], [1, 0]);
});

Deno.test("Listener treats another copy of the first event as a plain duplicate, not a re-send", async () => {
  const t = fakeListener();
  const event = t.request({ id: "r1", method: "ping" });
  await t.deliver(event);
  // Same id, another signature (re-signed): a new event for intake, the same after unwrapping.
  const copy = { ...event, sig: "e".repeat(128) };
  t.signer.opened.set(copy, t.signer.opened.get(event)!);
  await t.deliver(copy);
  assert.equal(t.publisher.published.length, 1);
  assert.deepEqual([t.listener.stats.duplicates, t.listener.stats.resent], [1, 0]);
});

Deno.test("Listener serves the retry of a request answered overloaded", async () => {
  const t = fakeListener();
  t.clients.down = true;
  const connect = { id: "c1", method: "connect", params: ["", TEST_SECRET] };
  await t.deliver(t.request(connect, OTHER_CLIENT_PUBKEY, "first"));
  t.clients.down = false;
  await t.deliver(t.request(connect, OTHER_CLIENT_PUBKEY, "retry"));
  assert.deepEqual(t.decisions.map((decision) => decision.reason), [UNAVAILABLE, null]);
  assert.equal(t.clients.redeemed.length, 2);
  assert.equal(t.listener.stats.resent, 0);
});

Deno.test("Listener forgets a kept reply after the duplicate window", async () => {
  const t = fakeListener();
  await t.deliver(t.request({ id: "r1", method: "ping" }, CLIENT_PUBKEY, "first"));
  t.clock.ms += DUPLICATE_WINDOW_MS;
  await t.deliver(t.request({ id: "r1", method: "ping" }, CLIENT_PUBKEY, "later"));
  assert.equal(t.signer.responds.length, 2, "a new request by then");
  assert.equal(t.listener.stats.resent, 0);
});
