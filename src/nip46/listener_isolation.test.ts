/**
 * One abuser cannot spoil the listener for others, over fakes: a stranger flood on one bunker
 * leaves the pairings of the others alone, cannot fill the audit log, cannot evict the replies
 * kept for connected clients; forged events in a connected client's name cost one verification
 * each and never shut the real client out.
 */
import assert from "node:assert/strict";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import { fakeListener } from "./listener_testing.ts";
import { BUNKER_LIMITED } from "./throttle.ts";
import { CLIENT_PUBKEY, OTHER_CLIENT_PUBKEY, TEST_SECRET, testAuthorization } from "./testing.ts";

/** The `i`-th of many distinct sender pubkeys, none of them connected. */
const stranger = (i: number) => (i + 1).toString(16).padStart(64, "0");

/** An authorization on bunker pubkey `bunkerPubkey`, with no client yet. */
function otherBunker(bunkerPubkey: string, n: number): ActiveAuthorization {
  return testAuthorization({
    id: `00000000-0000-4000-8000-0000000001${n.toString().padStart(2, "0")}`,
    bunkerPubkey,
  });
}

Deno.test("Listener keeps pairing clients to other bunkers while strangers flood one", async () => {
  const t = fakeListener();
  const quiet = ["1", "2", "3"].map((digit, i) => otherBunker(digit.repeat(64), i));
  for (const authorization of quiet) t.state.others.set(authorization.bunkerPubkey, authorization);
  await t.deliver(
    ...Array.from({ length: 1_000 }, (_, i) => t.request({ id: "p", method: "ping" }, stranger(i))),
  );
  // The flooded bunker gets its own burst (defaults: 60), not the whole shared budget.
  assert.equal(t.signer.unwraps.length, 60);
  assert.equal(t.listener.stats.unconnectedDropped, 940);
  assert.ok(t.records.some((record) => record.reason === BUNKER_LIMITED));

  const connect = { id: "c1", method: "connect", params: ["", TEST_SECRET] };
  await t.deliver(
    ...quiet.map((authorization, i) =>
      t.request(connect, stranger(5_000 + i), "pair", authorization.bunkerPubkey)
    ),
  );
  const pairings = t.decisions.filter((decision) => decision.method === "connect");
  assert.deepEqual(
    pairings.map((decision) => [decision.authorizationId, decision.decision]).sort(),
    quiet.map((authorization) => [authorization.id, "allow"]),
  );
});

Deno.test("Listener reports decisions about strangers within a global budget, then counts them", async () => {
  const t = fakeListener({
    unconnectedLimits: {
      perBunker: { perMinute: 60_000, burst: 1_000 },
      global: { perMinute: 60_000, burst: 1_000 },
      auditRows: { perMinute: 60, burst: 10 },
    },
  });
  const flood = (from: number) =>
    Array.from(
      { length: 300 },
      (_, i) => t.request({ id: "p", method: "ping" }, stranger(from + i)),
    );
  await t.deliver(...flood(0));
  await t.deliver(t.request({ id: "k", method: "get_public_key" }, CLIENT_PUBKEY));
  assert.equal(t.publisher.published.length, 301, "every stranger is still answered");
  const strangers = t.decisions.filter((decision) => !decision.clientConnected);
  assert.equal(strangers.length, 10, "the audit burst");
  assert.equal(t.decisions.length, 11, "a connected client's decision is always reported");
  assert.equal(t.listener.stats.unconnectedUnreported, 290);
  const warnings = t.records.filter((record) => record.level !== "debug");
  assert.equal(warnings.length, 1, "one rate-limited line, not one per request");
  assert.equal(warnings[0]!.level, "warn");

  t.clock.ms += 60_000; // 60 a minute: a full burst again, and the next line may be written
  await t.deliver(...flood(1_000));
  assert.equal(t.decisions.filter((decision) => !decision.clientConnected).length, 20);
  assert.equal(t.listener.stats.unconnectedUnreported, 580);
  const later = t.records.filter((record) => record.level !== "debug");
  assert.equal(later.length, 2);
  assert.equal(later[1]!.unreported, 290, "the line says how many went unreported since the last");
});

Deno.test("Listener keeps each client's replies apart: one client cannot evict another's", async () => {
  const t = fakeListener({ replyCache: { maxEntries: 10, maxEntriesPerClient: 3 } });
  t.state.live = testAuthorization({
    clients: [
      { clientPubkey: CLIENT_PUBKEY, loggedOut: false },
      { clientPubkey: OTHER_CLIENT_PUBKEY, loggedOut: false },
    ],
  });
  await t.deliver(t.request({ id: "r1", method: "ping" }, CLIENT_PUBKEY, "first"));
  await t.deliver(
    ...Array.from(
      { length: 50 },
      (_, i) => t.request({ id: `o${i}`, method: "ping" }, OTHER_CLIENT_PUBKEY, `o${i}`),
    ),
  );
  // Strangers' replies share one client's share between them.
  await t.deliver(
    ...Array.from({ length: 50 }, (_, i) => t.request({ id: "s", method: "ping" }, stranger(i))),
  );
  await t.deliver(t.request({ id: "r1", method: "ping" }, CLIENT_PUBKEY, "again"));
  assert.equal(t.listener.stats.resent, 1, "the kept reply went out again");
  assert.equal(t.signer.responds.length, 101, "nothing ran twice");
});

Deno.test("Listener: forged events in a connected client's name never shut the client out", async () => {
  const t = fakeListener();
  const forgeries = Array.from({ length: 500 }, (_, i) => {
    const event = t.request({ id: `x${i}`, method: "ping" }, CLIENT_PUBKEY, `forged-${i}`);
    t.signer.forged.add(event);
    return event;
  });
  await t.deliver(...forgeries);
  assert.equal(t.listener.stats.forged, 500, "each cost one verification, counted");
  assert.equal(t.decisions.length, 0, "and had no other effect");
  // The real client's next request, through the same relay, at the same moment.
  await t.deliver(t.request({ id: "r1", method: "get_public_key" }, CLIENT_PUBKEY, "real"));
  assert.equal(t.decisions.length, 1);
  assert.equal(t.decisions[0]!.decision, "allow");
});
