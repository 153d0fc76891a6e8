import assert from "node:assert/strict";
import { makeAuthEvent } from "nostr-tools/nip42";
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { startTestRelay } from "../helpers/relay.ts";
import { RelayProcess } from "./process.ts";
import { RelayTestClient } from "./test_client.ts";

const clientKey = generateSecretKey();
const clientPubkey = getPublicKey(clientKey);

function authEvent(relayUrl: string, challenge: string) {
  return finalizeEvent(makeAuthEvent(relayUrl, challenge), clientKey);
}

function note() {
  return finalizeEvent({
    kind: 1,
    created_at: Math.floor(Date.now() / 1000),
    tags: [],
    content: "hi",
  }, clientKey);
}

Deno.test("AUTH: until authenticated REQ is CLOSED and EVENT refused; AUTH unlocks both", async () => {
  await using relay = await startTestRelay({ authRequired: true });
  await using client = await RelayTestClient.connect(relay.url);
  const [, challenge] = await client.nextOf("AUTH");
  assert.equal(typeof challenge, "string");
  client.send(["REQ", "s", { kinds: [1] }]);
  assert.match(String((await client.nextOf("CLOSED", "s"))[2]), /^auth-required: /);
  const event = note();
  client.send(["EVENT", event]);
  assert.match(String((await client.nextOf("OK", event.id))[3]), /^auth-required: /);

  const wrong = authEvent(relay.url, "not-the-challenge");
  client.send(["AUTH", wrong]);
  assert.deepEqual(await client.nextOf("OK", wrong.id), [
    "OK",
    wrong.id,
    false,
    "invalid: challenge tag does not match",
  ]);
  const right = authEvent(relay.url, String(challenge));
  client.send(["AUTH", right]);
  assert.deepEqual(await client.nextOf("OK", right.id), ["OK", right.id, true, ""]);

  client.send(["REQ", "s", { kinds: [1] }]);
  assert.deepEqual(await client.next(), ["EOSE", "s"]);
  client.send(["EVENT", event]);
  assert.deepEqual(await client.nextOf("OK", event.id), ["OK", event.id, true, ""]);
  assert.deepEqual((await relay.stats()).authedPubkeys, [clientPubkey]);
});

Deno.test("setAuthRequired() challenges open sockets and can be switched off", async () => {
  await using relay = await startTestRelay();
  await using client = await RelayTestClient.connect(relay.url);
  await relay.setAuthRequired(true);
  assert.equal((await client.nextOf("AUTH")).length, 2);
  client.send(["REQ", "s", { kinds: [1] }]);
  assert.match(String((await client.nextOf("CLOSED", "s"))[2]), /^auth-required: /);
  await relay.setAuthRequired(false);
  client.send(["REQ", "s", { kinds: [1] }]);
  assert.deepEqual(await client.next(), ["EOSE", "s"]);
});

Deno.test("drop() closes every socket abruptly and later connections work", async () => {
  await using relay = await startTestRelay();
  await using first = await RelayTestClient.connect(relay.url);
  await using second = await RelayTestClient.connect(relay.url);
  assert.equal(await relay.drop(), 2);
  assert.deepEqual(await Promise.all([first.closed, second.closed]), [1006, 1006]);
  await using third = await RelayTestClient.connect(relay.url);
  third.send(["REQ", "s", { kinds: [1] }]);
  assert.deepEqual(await third.next(), ["EOSE", "s"]);
  const stats = await relay.stats();
  assert.equal(stats.connections, 1);
  assert.equal(stats.connectionsTotal, 3);
});

Deno.test("refuse() turns new connections away until it ends; open sockets stay", async () => {
  await using relay = await startTestRelay();
  await using open = await RelayTestClient.connect(relay.url);
  await relay.refuse(60_000);
  await assert.rejects(RelayTestClient.connect(relay.url), /503/);
  assert.equal((await relay.stats()).refusing, true);
  open.send(["REQ", "s", { kinds: [1] }]);
  assert.deepEqual(await open.next(), ["EOSE", "s"]);
  await relay.refuse(0);
  await using later = await RelayTestClient.connect(relay.url);
  later.send(["REQ", "s", { kinds: [1] }]);
  assert.deepEqual(await later.next(), ["EOSE", "s"]);
  assert.equal((await relay.stats()).connections, 2);
});

Deno.test("delay() holds back every outgoing message until switched off", async () => {
  const delayMs = 400;
  await using relay = await startTestRelay();
  await using client = await RelayTestClient.connect(relay.url);
  await relay.delay(delayMs);
  let started = performance.now();
  client.send(["REQ", "slow", { kinds: [1] }]);
  assert.deepEqual(await client.next(), ["EOSE", "slow"]);
  assert.ok(performance.now() - started >= delayMs - 5, "EOSE arrived before the delay");
  await relay.delay(0);
  started = performance.now();
  client.send(["REQ", "fast", { kinds: [1] }]);
  assert.deepEqual(await client.next(), ["EOSE", "fast"]);
  assert.ok(performance.now() - started < delayMs, "EOSE still delayed");
});

Deno.test("restart() brings the relay back on the same port with an empty store", async () => {
  await using relay = await startTestRelay();
  await using before = await RelayTestClient.connect(relay.url);
  const event = note();
  before.send(["EVENT", event]);
  await before.nextOf("OK", event.id);
  await relay.stop();
  assert.equal(await before.closed, 1006);
  await assert.rejects(RelayTestClient.connect(relay.url), /ECONNREFUSED|refused/i);
  await relay.restart();
  await using after = await RelayTestClient.connect(relay.url);
  after.send(["REQ", "s", { kinds: [1] }]);
  assert.deepEqual(await after.next(), ["EOSE", "s"]);
  assert.equal((await relay.stats()).stored, 0);
});

Deno.test("relay process prints its port and exits 0 on SIGTERM", async () => {
  const process = await RelayProcess.spawn(["--port", "0"]);
  assert.ok(process.port > 0);
  const status = await process.stop();
  assert.equal(status.code, 0);
});
