import assert from "node:assert/strict";
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { eventually } from "../../tests/helpers/eventually.ts";
import { RelayPool } from "./pool.ts";
import { captureLog, FakeRelay, testPoolOptions } from "./testing.ts";
import type { NostrEvent, SignAuth } from "./types.ts";

/** Bunker keys for tests and a signAuth over them that records its calls. */
function bunkerKeys(count: number) {
  const keys = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    const secretKey = generateSecretKey();
    keys.set(getPublicKey(secretKey), secretKey);
  }
  const calls: { challenge: string; relayUrl: string; bunkerPubkeys: string[] }[] = [];
  const signAuth: SignAuth = (challenge, relayUrl, bunkerPubkeys) => {
    calls.push({ challenge, relayUrl, bunkerPubkeys });
    return Promise.resolve(bunkerPubkeys.map((pk) =>
      finalizeEvent({
        kind: 22242,
        created_at: Math.floor(Date.now() / 1000),
        tags: [["relay", relayUrl], ["challenge", challenge]],
        content: "",
      }, keys.get(pk)!) as NostrEvent
    ));
  };
  return { pubkeys: [...keys.keys()], keys, calls, signAuth };
}

Deno.test("RelayPool answers AUTH and re-sends a REQ closed with auth-required:", async () => {
  await using relay = await FakeRelay.start({ challenge: "challenge-1", authRequired: true });
  const { pubkeys, calls, signAuth } = bunkerKeys(1);
  await using pool = new RelayPool(testPoolOptions({ signAuth }));
  const bunkerPubkey = pubkeys[0]!;
  pool.watch(bunkerPubkey, [relay.url]);
  assert.equal(await pool.ready(bunkerPubkey), true);
  assert.deepEqual(calls, [{
    challenge: "challenge-1",
    relayUrl: relay.url,
    bunkerPubkeys: [bunkerPubkey],
  }]);
  assert.deepEqual(relay.received.map((r) => r.message[0]), ["REQ", "AUTH", "REQ"]);
  assert.deepEqual([...relay.clients[0]!.authed], [bunkerPubkey]);
});

Deno.test("RelayPool.publish() authenticates as the event author on OK auth-required:", async () => {
  await using relay = await FakeRelay.start({ challenge: "challenge-2", authRequired: true });
  const { pubkeys, keys, calls, signAuth } = bunkerKeys(1);
  await using pool = new RelayPool(testPoolOptions({ signAuth }));
  const event = finalizeEvent({
    kind: 24133,
    created_at: Math.floor(Date.now() / 1000),
    tags: [["p", pubkeys[0]!]],
    content: "ciphertext",
  }, keys.get(pubkeys[0]!)!) as NostrEvent;
  const [result] = await pool.publish(event, [relay.url]);
  assert.equal(result?.ok, true, String(result?.message));
  assert.deepEqual(calls.map((c) => c.bunkerPubkeys), [[event.pubkey]]);
  assert.deepEqual(relay.received.map((r) => r.message[0]), ["EVENT", "AUTH", "EVENT"]);
});

Deno.test("RelayPool signs at most once per pubkey and challenge when AUTH keeps failing", async () => {
  await using relay = await FakeRelay.start({ challenge: "challenge-3", authRequired: true });
  const { pubkeys, calls } = bunkerKeys(2);
  const badSignAuth: SignAuth = (challenge, relayUrl, bunkerPubkeys) => {
    calls.push({ challenge, relayUrl, bunkerPubkeys });
    return Promise.resolve([]);
  };
  await using pool = new RelayPool(testPoolOptions({ signAuth: badSignAuth }));
  for (const pk of pubkeys) pool.watch(pk, [relay.url]);
  assert.equal(await pool.ready(pubkeys[0]!, { timeoutMs: 400 }), false);
  assert.equal(calls.length, 1);
  assert.deepEqual(new Set(calls[0]!.bunkerPubkeys), new Set(pubkeys));
  assert.ok(relay.messages("REQ").length >= 2, "the closed REQ is retried with backoff");
  assert.equal(pool.status()[0]?.lastError, "CLOSED: auth-required: authenticate first");
});

Deno.test("RelayPool bounds the pubkeys signed for one challenge", async () => {
  await using relay = await FakeRelay.start({ challenge: "challenge-4", authRequired: true });
  const { pubkeys, calls, signAuth } = bunkerKeys(5);
  await using pool = new RelayPool(testPoolOptions({ signAuth, maxAuthPerChallenge: 2 }));
  for (const pk of pubkeys) pool.watch(pk, [relay.url]);
  // Every pubkey subscribed: the pool has nothing left to authenticate for.
  for (const pk of pubkeys) assert.equal(await pool.ready(pk), true);
  assert.equal(calls.flatMap((c) => c.bunkerPubkeys).length, 2);
  assert.equal(relay.messages("AUTH").length, 2);
});

Deno.test("RelayPool ignores a flood of new AUTH challenges on one socket", async () => {
  await using relay = await FakeRelay.start({ challenge: "first", authRequired: true });
  const { pubkeys, calls } = bunkerKeys(1);
  const emptySignAuth: SignAuth = (challenge, relayUrl, bunkerPubkeys) => {
    calls.push({ challenge, relayUrl, bunkerPubkeys });
    return Promise.resolve([]);
  };
  const { log, records } = captureLog();
  await using pool = new RelayPool(testPoolOptions({ signAuth: emptySignAuth, log }));
  pool.watch(pubkeys[0]!, [relay.url]);
  const { client } = await relay.waitFor((r) => r.message[0] === "REQ");
  await eventually("the first challenge is answered", () => calls.length > 0, {
    timeoutMs: 2_000,
    intervalMs: 5,
  });
  for (let i = 0; i < 20; i++) client.send(["AUTH", `challenge-${i}`]);
  // The pool reads a socket in order: once it has logged this NOTICE, it has seen every challenge.
  client.send(["NOTICE", "after the flood"]);
  await eventually("the pool read the whole flood", () => {
    return records.some((r) => r.notice === "after the flood");
  }, { timeoutMs: 2_000, intervalMs: 5 });
  assert.ok(calls.length >= 2, "a new challenge is answered");
  assert.ok(calls.length <= 5, `signed for ${calls.length} challenges`);
});
