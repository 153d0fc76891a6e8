/**
 * The listener's stages put together, over fakes (no workers, no relays): what is answered, what
 * is dropped with which log line, what is reported to `onDecision`, and the counters.
 */
import assert from "node:assert/strict";
import { KeyUnavailableError, OverloadedError, WorkerCrashedError } from "../signer/errors.ts";
import { UNAVAILABLE } from "./decide.ts";
import { droppedLine, fakeListener, RELAY_IN, REPLY } from "./listener_testing.ts";
import { KEY_UNAVAILABLE, RETRY_LATER, SIGNER_FAILED } from "./reply.ts";
import {
  BUNKER_PUBKEY,
  CLIENT_PUBKEY,
  OTHER_CLIENT_PUBKEY,
  requestEvent,
  T0,
  TEST_SECRET,
  testAuthorization,
} from "./testing.ts";

Deno.test("Listener answers a request, reports the decision, then publishes", async () => {
  const t = fakeListener();
  const event = t.request({ id: "r1", method: "ping", params: [] });
  await t.deliver(event);
  assert.deepEqual(t.signer.responds, [{
    bunker: { pubkey: BUNKER_PUBKEY, sealed: "v1.1.bunker" },
    clientPubkey: CLIENT_PUBKEY,
    scheme: "nip44",
    requestId: "r1",
    createdAt: T0 / 1000,
    action: { type: "result", result: "pong" },
  }]);
  assert.equal(t.decisions.length, 1);
  const [decision] = t.decisions;
  assert.equal(typeof decision?.latencyMs, "number");
  assert.deepEqual({ ...decision, latencyMs: 0 }, {
    authorizationId: testAuthorization().id,
    clientPubkey: CLIENT_PUBKEY,
    method: "ping",
    eventKind: null,
    eventId: event.id,
    decision: "allow",
    reason: null,
    latencyMs: 0,
    clientConnected: true,
    transport: "nip46",
  });
  assert.deepEqual(t.publisher.published, [{
    event: REPLY,
    relays: [RELAY_IN, "wss://relay.test"],
    decisions: 1,
  }]);
  assert.deepEqual(t.listener.stats, {
    received: 1,
    dropped: 0,
    answered: 1,
    overloaded: 0,
    duplicates: 0,
    unconnectedDropped: 0,
    unconnectedUnreported: 0,
    forged: 0,
    resent: 0,
    keyUnavailable: 0,
    claimedElsewhere: 0,
    claimFailed: 0,
  });
  assert.deepEqual(t.records, []);
});

Deno.test("Listener drops an event that fails intake with one debug line and no crypto", async () => {
  const t = fakeListener();
  await t.deliver({ ...requestEvent(), kind: 1 }, null);
  assert.deepEqual(t.records, [droppedLine("wrong kind"), droppedLine("not an object")]);
  assert.deepEqual(t.signer.unwraps, []);
  assert.equal(t.listener.stats.dropped, 2);
  assert.equal(t.listener.stats.received, 2);
});

Deno.test("Listener drops a second copy of an event as a duplicate", async () => {
  const t = fakeListener();
  const event = t.request({ id: "r1", method: "ping", params: [] });
  await t.deliver(event);
  await t.deliver({ ...event });
  assert.equal(t.publisher.published.length, 1);
  assert.deepEqual(t.records, [droppedLine("duplicate")]);
  assert.equal(t.listener.stats.duplicates, 1);
  assert.equal(t.listener.stats.dropped, 1);
});

Deno.test("Listener answers a repeated request id with the kept reply, without a new job or a log line", async () => {
  const t = fakeListener();
  await t.deliver(t.request({ id: "r1", method: "ping" }, CLIENT_PUBKEY, "first"));
  await t.deliver(t.request({ id: "r1", method: "ping" }, CLIENT_PUBKEY, "second"));
  const [first, second] = t.publisher.published.map((p) => p.event);
  assert.deepEqual(first, REPLY);
  assert.equal(second?.content, REPLY.content, "the same encrypted reply, in a fresh envelope");
  assert.notEqual(second?.id, REPLY.id);
  assert.equal(t.signer.signed.length, 1);
  assert.equal(t.signer.responds.length, 1);
  assert.deepEqual(t.records, []);
  assert.equal(t.listener.stats.resent, 1);
  assert.equal(t.listener.stats.duplicates, 0);
  assert.equal(t.listener.stats.dropped, 0);
});

Deno.test("Listener answers a request that does not parse, reported as method invalid", async () => {
  const t = fakeListener();
  await t.deliver(t.request({ id: "r1", method: 5 }));
  assert.deepEqual(t.signer.responds[0]?.action, {
    type: "error",
    error: "invalid: method must be a non-empty string",
  });
  assert.equal(t.decisions[0]?.method, "invalid");
  assert.equal(t.decisions[0]?.decision, "deny");
  assert.equal(t.publisher.published.length, 1);
});

Deno.test("Listener drops a request without an id", async () => {
  const t = fakeListener();
  await t.deliver(t.request("not json"));
  assert.deepEqual(t.records, [droppedLine("invalid: request is not JSON")]);
  assert.deepEqual(t.signer.responds, []);
});

Deno.test("Listener answers overloaded through the reserved lane and counts it", async () => {
  const t = fakeListener();
  t.signer.unwrapError = new OverloadedError("full");
  await t.deliver(t.request({ id: "r1", method: "ping" }));
  assert.deepEqual(t.signer.rejects, [{
    bunker: { pubkey: BUNKER_PUBKEY, sealed: "v1.1.bunker" },
    error: RETRY_LATER,
  }]);
  assert.equal(t.publisher.published.length, 1);
  assert.deepEqual(t.decisions, [], "no decision was made");
  assert.equal(t.listener.stats.overloaded, 1);
  assert.equal(t.listener.stats.answered, 1);
});

Deno.test("Listener drops a crashed request when the reserved lane is full too", async () => {
  const t = fakeListener();
  t.signer.unwrapError = new WorkerCrashedError("crash");
  t.signer.reject = () => Promise.reject(new OverloadedError("full"));
  await t.deliver(t.request({ id: "r1", method: "ping" }));
  assert.deepEqual(t.records, [
    droppedLine(`cannot answer "${SIGNER_FAILED}": the reserved lane is full`),
  ]);
  assert.equal(t.listener.stats.overloaded, 0);
  assert.equal(t.publisher.published.length, 0);
});

Deno.test("Listener logs a bunker key it cannot open at error, once a minute per authorization", async () => {
  const t = fakeListener();
  t.signer.unwrapError = new KeyUnavailableError(
    `Cannot open the sealed key of "${BUNKER_PUBKEY}"`,
  );
  await t.deliver(t.request({ id: "r1", method: "ping" }, CLIENT_PUBKEY, "first"));
  t.clock.ms += 30_000;
  await t.deliver(t.request({ id: "r2", method: "ping" }, CLIENT_PUBKEY, "second"));
  t.clock.ms += 30_000;
  await t.deliver(t.request({ id: "r3", method: "ping" }, CLIENT_PUBKEY, "third"));
  const errors = t.records.filter((record) => record.level === "error");
  assert.equal(errors.length, 2, "the second request falls inside the first minute");
  assert.deepEqual(errors[0], {
    level: "error",
    ns: "nip46.listener",
    msg: "Cannot open a key of an authorization: its requests fail until the key is restored",
    authorizationId: testAuthorization().id,
    error: `Cannot open the sealed key of "${BUNKER_PUBKEY}"`,
  });
  assert.equal(t.listener.stats.keyUnavailable, 3);
  assert.equal(t.listener.stats.dropped, 3, "no key can answer: nothing is published");
  assert.equal(t.publisher.published.length, 0);
});

Deno.test("Listener answers invalid when the user key cannot be opened, and logs it at error", async () => {
  const t = fakeListener();
  t.signer.respondError = new KeyUnavailableError("Cannot open the sealed key of the user");
  await t.deliver(t.request({ id: "r1", method: "get_public_key" }));
  assert.deepEqual(t.signer.responds.at(-1)?.action, { type: "error", error: KEY_UNAVAILABLE });
  assert.match(KEY_UNAVAILABLE, /^invalid: /);
  assert.equal(t.publisher.published.length, 1);
  assert.equal(t.decisions[0]?.reason, KEY_UNAVAILABLE);
  assert.equal(t.records.filter((record) => record.level === "error").length, 1);
  assert.equal(t.listener.stats.keyUnavailable, 1);
});

Deno.test("Listener forgets an event it could not unwrap, so a later copy is tried again", async () => {
  const t = fakeListener();
  const event = requestEvent();
  await t.deliver(event);
  await t.deliver(event);
  assert.deepEqual(t.records, [droppedLine("DecryptError"), droppedLine("DecryptError")]);
  assert.equal(t.signer.unwraps.length, 2);
  assert.equal(t.listener.stats.duplicates, 0);
});

Deno.test("Listener answers revoked with the key of a removed authorization", async () => {
  const t = fakeListener();
  const tombstone = testAuthorization({ bunkerSecretSealed: "v1.1.tombstone", relays: [] });
  t.state.tombstone = tombstone;
  t.state.live = undefined;
  await t.deliver(t.request({ id: "r1", method: "ping" }));
  assert.deepEqual(t.signer.responds.map((input) => [input.bunker.sealed, input.action]), [
    ["v1.1.tombstone", { type: "error", error: "revoked: the authorization was revoked" }],
  ]);
  assert.equal(t.decisions[0]?.reason, "revoked: the authorization was revoked");
  assert.deepEqual(t.publisher.published[0]?.relays, [RELAY_IN]);
});

Deno.test("Listener binds a connecting client, then serves it", async () => {
  const t = fakeListener();
  await t.deliver(
    t.request({ id: "c1", method: "connect", params: ["", TEST_SECRET] }, OTHER_CLIENT_PUBKEY),
  );
  await t.deliver(
    t.request({ id: "k1", method: "get_public_key" }, OTHER_CLIENT_PUBKEY, "second"),
  );
  assert.deepEqual(t.decisions.map((d) => [d.method, d.decision]), [
    ["connect", "allow"],
    ["get_public_key", "allow"],
  ]);
  assert.equal(t.clients.redeemed.length, 1);
});

Deno.test("Listener answers overloaded and logs when the database is down", async () => {
  const t = fakeListener();
  t.clients.down = true;
  await t.deliver(
    t.request({ id: "c1", method: "connect", params: ["", TEST_SECRET] }, OTHER_CLIENT_PUBKEY),
  );
  assert.deepEqual(t.signer.responds[0]?.action, { type: "error", error: UNAVAILABLE });
  assert.deepEqual(t.records.map((r) => [r.level, r.msg, r.method]), [
    ["error", "Cannot handle request", "connect"],
  ]);
  assert.equal(t.publisher.published.length, 1);
});

Deno.test("Listener logs Request failed when a reply cannot be published", async () => {
  const t = fakeListener();
  t.publisher.failing = true;
  await t.deliver(t.request({ id: "r1", method: "ping" }));
  assert.deepEqual(t.records.map((r) => [r.level, r.msg, r.relayUrl]), [
    ["error", "Request failed", RELAY_IN],
  ]);
  assert.equal(t.decisions.length, 1, "decided before the publish failed");
  assert.equal(t.listener.stats.answered, 0);
});
