/** The relay pool against the real test relay process (tests/relay/relay.ts). */
import assert from "node:assert/strict";
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { eventually } from "../../tests/helpers/eventually.ts";
import { startTestRelay } from "../../tests/helpers/relay.ts";
import { RelayPool } from "./pool.ts";
import { testPoolOptions } from "./testing.ts";
import type { NostrEvent, SignAuth } from "./types.ts";

function request(authorKey: Uint8Array, bunkerPubkey: string): NostrEvent {
  return finalizeEvent({
    kind: 24133,
    created_at: Math.floor(Date.now() / 1000),
    tags: [["p", bunkerPubkey]],
    content: "ciphertext",
  }, authorKey) as NostrEvent;
}

/** Collects onEvent calls and waits for a given event id. */
function inbox() {
  const seen: { id: string; relayUrl: string }[] = [];
  return {
    onEvent: (event: unknown, relayUrl: string) => {
      seen.push({ id: (event as { id: string }).id, relayUrl });
    },
    seen,
    async waitFor(id: string, timeoutMs = 3_000) {
      await eventually(`event "${id}" is received`, () => seen.some((e) => e.id === id), {
        timeoutMs,
        intervalMs: 5,
      });
      return seen.filter((e) => e.id === id);
    },
  };
}

Deno.test("RelayPool publishes through the real relay and receives the event by #p", async () => {
  await using relay = await startTestRelay();
  const box = inbox();
  await using pool = new RelayPool(testPoolOptions({ onEvent: box.onEvent }));
  const bunkerPubkey = getPublicKey(generateSecretKey());
  pool.watch(bunkerPubkey, [relay.url]);
  assert.equal(await pool.ready(bunkerPubkey), true);
  const event = request(generateSecretKey(), bunkerPubkey);
  const other = request(generateSecretKey(), getPublicKey(generateSecretKey()));
  // `other` goes first: the relay would deliver it before `event`, so once `event` has arrived,
  // `other` would have too.
  assert.deepEqual((await pool.publish(other, [relay.url])).map((r) => r.ok), [true]);
  const results = await pool.publish(event, [relay.url]);
  assert.deepEqual(results.map((r) => r.ok), [true]);
  assert.deepEqual(await box.waitFor(event.id), [{ id: event.id, relayUrl: relay.url }]);
  assert.ok(!box.seen.some((e) => e.id === other.id), "events for other pubkeys are not received");
});

Deno.test("RelayPool re-subscribes after the real relay drops every socket", async () => {
  await using relay = await startTestRelay();
  const box = inbox();
  await using pool = new RelayPool(testPoolOptions({ onEvent: box.onEvent }));
  const bunkerPubkey = getPublicKey(generateSecretKey());
  pool.watch(bunkerPubkey, [relay.url]);
  assert.equal(await pool.ready(bunkerPubkey), true);
  assert.equal(await relay.drop(), 1);
  await eventually("the pool reconnects", () => (pool.status()[0]?.reconnects ?? 0) >= 1, {
    timeoutMs: 3_000,
    intervalMs: 5,
  });
  assert.equal(await pool.ready(bunkerPubkey), true);
  const event = request(generateSecretKey(), bunkerPubkey);
  assert.deepEqual((await pool.publish(event, [relay.url])).map((r) => r.ok), [true]);
  await box.waitFor(event.id);
  assert.equal((await relay.stats()).connections, 1);
});

Deno.test("RelayPool authenticates to the real relay when it requires NIP-42", async () => {
  await using relay = await startTestRelay({ authRequired: true });
  const bunkerKey = generateSecretKey();
  const bunkerPubkey = getPublicKey(bunkerKey);
  const signAuth: SignAuth = (challenge, relayUrl, bunkerPubkeys) =>
    Promise.resolve(
      bunkerPubkeys.filter((pk) => pk === bunkerPubkey).map((_pk) =>
        finalizeEvent({
          kind: 22242,
          created_at: Math.floor(Date.now() / 1000),
          tags: [["relay", relayUrl], ["challenge", challenge]],
          content: "",
        }, bunkerKey) as NostrEvent
      ),
    );
  const box = inbox();
  await using pool = new RelayPool(testPoolOptions({ signAuth, onEvent: box.onEvent }));
  pool.watch(bunkerPubkey, [relay.url]);
  assert.equal(await pool.ready(bunkerPubkey), true);
  const reply = request(bunkerKey, getPublicKey(generateSecretKey()));
  assert.deepEqual((await pool.publish(reply, [relay.url])).map((r) => r.ok), [true]);
  const incoming = request(generateSecretKey(), bunkerPubkey);
  const other = new RelayPool(testPoolOptions({ signAuth: () => Promise.resolve([]) }));
  try {
    const [result] = await other.publish(incoming, [relay.url], { timeoutMs: 1_000 });
    assert.equal(result?.ok, false, "an unauthenticated publisher is refused");
    assert.match(result!.message, /^auth-required:/);
  } finally {
    await other.close();
  }
  assert.deepEqual((await relay.stats()).authedPubkeys, [bunkerPubkey]);
});

Deno.test("RelayPool.publish() succeeds once a restarted real relay is back", async () => {
  await using relay = await startTestRelay();
  await using pool = new RelayPool(testPoolOptions({ publishTimeoutMs: 15_000 }));
  const bunkerPubkey = getPublicKey(generateSecretKey());
  pool.watch(bunkerPubkey, [relay.url]);
  assert.equal(await pool.ready(bunkerPubkey), true);
  await relay.stop();
  const event = request(generateSecretKey(), bunkerPubkey);
  const published = pool.publish(event, [relay.url]);
  await eventually("the pool has lost the relay", () => pool.status()[0]?.connected === false, {
    timeoutMs: 3_000,
    intervalMs: 5,
  });
  await relay.restart();
  const [result] = await published;
  assert.equal(result?.ok, true, String(result?.message));
  assert.equal(await pool.ready(bunkerPubkey, { timeoutMs: 5_000 }), true);
});
