import assert from "node:assert/strict";
import { finalizeEvent, generateSecretKey, getPublicKey, type NostrEvent } from "nostr-tools/pure";
import { startTestRelay } from "../helpers/relay.ts";
import { type RelayMessage, RelayTestClient } from "./test_client.ts";

const clientKey = generateSecretKey();
const clientPubkey = getPublicKey(clientKey);
const bunkerPubkey = getPublicKey(generateSecretKey());
const otherPubkey = getPublicKey(generateSecretKey());
let counter = 0;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A signed event as plain JSON (what a subscriber receives). */
function signed(fields: { kind?: number; p?: string; content?: string; ageSeconds?: number }) {
  const event = finalizeEvent({
    kind: fields.kind ?? 24133,
    created_at: nowSeconds() - (fields.ageSeconds ?? 0),
    tags: fields.p ? [["p", fields.p]] : [],
    content: fields.content ?? `${++counter}`.padEnd(2_000, "x"),
  }, clientKey);
  return JSON.parse(JSON.stringify(event)) as NostrEvent;
}

async function publish(client: RelayTestClient, event: unknown): Promise<RelayMessage> {
  client.send(["EVENT", event]);
  return await client.nextOf("OK", (event as NostrEvent).id);
}

async function subscribe(client: RelayTestClient, id: string, ...filters: unknown[]) {
  client.send(["REQ", id, ...filters]);
  const messages: RelayMessage[] = [];
  for (let i = 0; i < 100; i++) {
    const message = await client.next((m) => m[1] === id);
    messages.push(message);
    if (message[0] !== "EVENT") return messages;
  }
  throw new Error(`Subscription "${id}" sent more than 100 messages`);
}

Deno.test("relay delivers a live event to a #p subscriber and skips others", async () => {
  await using relay = await startTestRelay();
  await using publisher = await RelayTestClient.connect(relay.url);
  await using listener = await RelayTestClient.connect(relay.url);
  assert.deepEqual(await subscribe(listener, "s", { kinds: [24133], "#p": [bunkerPubkey] }), [
    ["EOSE", "s"],
  ]);
  const skipped = signed({ p: otherPubkey });
  const request = signed({ p: bunkerPubkey });
  assert.deepEqual(await publish(publisher, skipped), ["OK", skipped.id, true, ""]);
  assert.deepEqual(await publish(publisher, request), ["OK", request.id, true, ""]);
  // Delivery follows publish order, so the skipped event would have come first.
  assert.deepEqual(await listener.next(), ["EVENT", "s", request]);
});

Deno.test("relay stores regular events but delivers ephemeral ones only live", async () => {
  await using relay = await startTestRelay();
  await using client = await RelayTestClient.connect(relay.url);
  const note = signed({ kind: 1 });
  const ephemeral = signed({ kind: 20001 });
  assert.equal((await publish(client, note))[2], true);
  assert.equal((await publish(client, ephemeral))[2], true);
  assert.deepEqual(await subscribe(client, "s", { authors: [clientPubkey] }), [
    ["EVENT", "s", note],
    ["EOSE", "s"],
  ]);
  const stats = await relay.stats();
  assert.equal(stats.stored, 1);
  assert.equal(stats.eventsAccepted, 2);
});

Deno.test("REQ sends stored events newest first within limit, then EOSE, then live events", async () => {
  await using relay = await startTestRelay();
  await using client = await RelayTestClient.connect(relay.url);
  const [oldest, middle, newest] = [30, 20, 10].map((ageSeconds) =>
    signed({ kind: 1, ageSeconds })
  );
  for (const event of [middle, newest, oldest]) await publish(client, event);
  assert.deepEqual(await subscribe(client, "last2", { kinds: [1], limit: 2 }), [
    ["EVENT", "last2", newest],
    ["EVENT", "last2", middle],
    ["EOSE", "last2"],
  ]);
  const since = oldest!.created_at + 1;
  const until = newest!.created_at - 1;
  assert.deepEqual(await subscribe(client, "window", { kinds: [1], since, until }), [
    ["EVENT", "window", middle],
    ["EOSE", "window"],
  ]);
  const live = signed({ kind: 1 });
  await publish(client, live);
  assert.deepEqual(await client.nextOf("EVENT", "last2"), ["EVENT", "last2", live]);
});

Deno.test("EVENT with a bad signature or id is invalid; a repeated one is a duplicate", async () => {
  await using relay = await startTestRelay();
  await using client = await RelayTestClient.connect(relay.url);
  await subscribe(client, "all", { kinds: [24133] });
  const event = signed({ p: bunkerPubkey });
  const flipped = event.sig.startsWith("0") ? "1" : "0";
  const badSig = { ...event, sig: flipped + event.sig.slice(1) };
  assert.deepEqual(await publish(client, badSig), [
    "OK",
    event.id,
    false,
    "invalid: bad signature",
  ]);
  const tampered = { ...event, content: "changed" };
  assert.deepEqual(await publish(client, tampered), [
    "OK",
    event.id,
    false,
    "invalid: id does not match the event content",
  ]);
  const unsigned = { ...event, sig: undefined };
  assert.match(String((await publish(client, unsigned))[3]), /^invalid: sig must be/);
  assert.deepEqual(await publish(client, event), ["OK", event.id, true, ""]);
  assert.deepEqual(await client.next(), ["EVENT", "all", event]);
  const again = await publish(client, event);
  assert.equal(again[2], true);
  assert.match(String(again[3]), /^duplicate: /);
  const next = signed({ p: bunkerPubkey });
  await publish(client, next);
  assert.deepEqual(await client.next(), ["EVENT", "all", next], "duplicate delivered again");
  assert.equal((await relay.stats()).eventsAccepted, 2);
});

Deno.test("malformed or oversized messages get a NOTICE and the socket stays usable", async () => {
  await using relay = await startTestRelay({ maxMessageBytes: 4_096 });
  await using client = await RelayTestClient.connect(relay.url);
  client.send("not json");
  assert.match(String((await client.nextOf("NOTICE"))[1]), /not valid UTF-8 JSON/);
  client.send(["FOO", 1]);
  assert.match(String((await client.nextOf("NOTICE"))[1]), /unknown message type "FOO"/);
  client.send(["EVENT", signed({ content: "x".repeat(5_000) })]);
  assert.match(String((await client.nextOf("NOTICE"))[1]), /exceeds the limit of 4096/);
  assert.deepEqual(await subscribe(client, "s", { kinds: [1] }), [["EOSE", "s"]]);
});

Deno.test("REQ beyond the subscription or filter limits is CLOSED with a reason", async () => {
  await using relay = await startTestRelay({ maxSubscriptions: 2, maxFilters: 2 });
  await using client = await RelayTestClient.connect(relay.url);
  await subscribe(client, "a", { kinds: [1] });
  await subscribe(client, "b", { kinds: [1] });
  const [third] = await subscribe(client, "c", { kinds: [1] });
  assert.deepEqual(third, ["CLOSED", "c", "error: too many open subscriptions, the limit is 2"]);
  const [tooMany] = await subscribe(client, "a", { kinds: [1] }, { kinds: [2] }, { kinds: [3] });
  assert.deepEqual(tooMany, ["CLOSED", "a", "invalid: REQ has 3 filters, the limit is 2"]);
  const [badFilter] = await subscribe(client, "d", { kinds: "1" });
  assert.match(String(badFilter?.[2]), /^invalid: filter field "kinds"/);
  assert.equal((await relay.stats()).subscriptions, 1);
});

Deno.test("CLOSE stops delivery to that subscription only", async () => {
  await using relay = await startTestRelay();
  await using client = await RelayTestClient.connect(relay.url);
  await subscribe(client, "bunker", { "#p": [bunkerPubkey] });
  await subscribe(client, "other", { "#p": [otherPubkey] });
  client.send(["CLOSE", "bunker"]);
  await publish(client, signed({ p: bunkerPubkey }));
  const sentinel = signed({ p: otherPubkey });
  await publish(client, sentinel);
  assert.deepEqual(await client.next(), ["EVENT", "other", sentinel]);
  assert.equal((await relay.stats()).subscriptions, 1);
});
