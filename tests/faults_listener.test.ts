/**
 * Fault tolerance of the request path in one process: a real Listener over a real SignerPool whose
 * workers crash (through the pool's test-only debug ops), whose queue fills up, and whose database
 * fails. Every request must be answered or counted as dropped, and the path must keep serving.
 *
 * Deno prints each deliberately crashed worker's "Uncaught … crashed on purpose" to stderr: expected.
 */
import assert from "node:assert/strict";
import type { NostrEvent } from "../src/nostr/event.ts";
import { type SignerPool, workerIndexFor } from "../src/signer/pool.ts";
import type { ListenerSigner } from "../src/nip46/listener.ts";
import { HARNESS_SECRET, ListenerHarness } from "./helpers/listener_harness.ts";

const TEMPLATE = JSON.stringify({ kind: 1, created_at: 1_700_000_000, tags: [], content: "hi" });

/** Wraps `method` so that its first call crashes the worker the job is routed to, just before. */
function crashBeforeFirst(
  method: "unwrap" | "respond",
  workers: number,
): (pool: SignerPool) => ListenerSigner {
  let crashed = false;
  return (pool) => {
    const crash = (bunkerPubkey: string, peerPubkey: string) => {
      crashed = true;
      const index = workerIndexFor(bunkerPubkey, peerPubkey, workers);
      // Submitted before the job itself, so the worker dies with that job in its queue.
      pool.debugOp({ op: "crash" }, index).catch(() => {});
    };
    return {
      unwrapRequest: (input) => {
        if (method === "unwrap" && !crashed) {
          crash(input.bunker.pubkey, (input.event as NostrEvent).pubkey);
        }
        return pool.unwrapRequest(input);
      },
      respond: (input) => {
        if (method === "respond" && !crashed) crash(input.bunker.pubkey, input.clientPubkey);
        return pool.respond(input);
      },
      rejectRequest: (input) => pool.rejectRequest(input),
      signWithKey: (input) => pool.signWithKey(input),
    };
  };
}

for (const phase of ["unwrap", "respond"] as const) {
  Deno.test(`a worker crash while it holds a request's ${phase} job: replaced, and the request gets an error reply`, async () => {
    await using h = await ListenerHarness.start({
      workers: 2,
      debugOps: true,
      wrapSigner: crashBeforeFirst(phase, 2),
    });
    const client = h.connectedClient();
    h.deliver(h.request(client, { id: "crashed", method: "sign_event", params: [TEMPLATE] }));
    await h.settle();
    assert.equal(h.pool.stats().crashes, 1);
    const [reply, ...more] = h.repliesTo(client);
    assert.deepEqual(more, []);
    assert.equal(reply?.id, "crashed");
    assert.equal(reply?.result, "");
    assert.match(reply?.error ?? "", /invalid: /);

    // The replacement worker serves the next request.
    h.deliver(h.request(client, { id: "after", method: "sign_event", params: [TEMPLATE] }));
    await h.settle();
    const after = h.repliesTo(client).find((r) => r.id === "after");
    assert.equal(after?.error, undefined);
    assert.equal(JSON.parse(after?.result ?? "{}").pubkey, h.user.pubkey);
    assert.equal(h.pool.stats().workers, 2);
  });
}

Deno.test("a full signer queue answers overloaded at once, stays bounded and accounts for every request", async () => {
  const maxQueue = 2;
  const reservedQueue = 4;
  await using h = await ListenerHarness.start({
    workers: 1,
    maxQueue,
    reservedQueue,
    debugOps: true,
  });
  const client = h.connectedClient();
  const total = 300;
  const events = Array.from(
    { length: total },
    (_, i) => h.request(client, { id: `burst-${i}`, method: "ping", params: [] }),
  );
  // Hold the only worker so that every request of the burst has to queue.
  const stall = h.pool.debugOp({ op: "stall", ms: 3_000 }, 0);
  for (const event of events) h.deliver(event);
  // Wait until every request went through admission: all but `maxQueue` refused by the main lane,
  // all but one running and `reservedQueue` waiting refused by the reserved lane.
  const admitted = 1 + reservedQueue;
  for (let waited = 0; waited < 2_500; waited += 10) {
    const stats = h.pool.stats();
    if (
      stats.dropped === total - maxQueue && stats.reservedDropped === total - maxQueue - admitted
    ) {
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const during = h.pool.stats();
  assert.deepEqual([during.dropped, during.reservedDropped], [
    total - maxQueue,
    total - maxQueue - admitted,
  ]);
  assert.equal(during.queueDepth, maxQueue);
  assert.equal(during.reserved, admitted);
  // Nothing grows with the burst: only admitted and reserved-lane requests are still held.
  assert.ok(h.listener.inflight <= maxQueue + admitted, `${h.listener.inflight} in flight`);
  await stall;
  await h.settle();

  const replies = h.repliesTo(client);
  const ids = new Set(replies.map((reply) => reply.id));
  assert.equal(ids.size, replies.length, "a request was answered twice");
  const pongs = replies.filter((reply) => reply.result === "pong");
  const overloaded = replies.filter((reply) => reply.error === "overloaded: retry later");
  assert.equal(pongs.length, maxQueue);
  assert.equal(overloaded.length, 1 + reservedQueue);
  assert.equal(pongs.length + overloaded.length, replies.length);
  const stats = h.pool.stats();
  assert.equal(stats.dropped, total - maxQueue);
  assert.equal(h.listener.stats.overloaded, total - maxQueue);
  // Every request was answered or counted as dropped (and logged with the reason).
  assert.equal(replies.length + stats.reservedDropped, total);
  const drops = h.logged("Dropped event").filter((record) =>
    String(record.reason).includes("the reserved lane is full")
  );
  assert.equal(drops.length, stats.reservedDropped);

  // Once the burst is over the pool serves normally again.
  h.deliver(h.request(client, { id: "later", method: "ping", params: [] }));
  await h.settle();
  assert.equal(h.repliesTo(client).find((reply) => reply.id === "later")?.result, "pong");
});

Deno.test("connect and logout while the database is down get an error reply; connected clients keep signing", async () => {
  await using h = await ListenerHarness.start({ workers: 1 });
  const connected = h.connectedClient();
  const newcomer = h.newClient();
  h.databaseDown = true;
  h.deliver(h.request(newcomer, { id: "c1", method: "connect", params: ["", HARNESS_SECRET] }));
  h.deliver(h.request(connected, { id: "s1", method: "sign_event", params: [TEMPLATE] }));
  await h.settle();
  const [refused] = h.repliesTo(newcomer);
  assert.equal(refused?.id, "c1");
  assert.equal(refused?.result, "");
  assert.match(refused?.error ?? "", /overloaded: /);
  const [signed] = h.repliesTo(connected);
  assert.equal(JSON.parse(signed?.result ?? "{}").pubkey, h.user.pubkey);

  h.deliver(h.request(connected, { id: "l1", method: "logout", params: [] }));
  await h.settle();
  const logout = h.repliesTo(connected).find((reply) => reply.id === "l1");
  assert.match(logout?.error ?? "", /overloaded: /);
  // A logout that could not be recorded must not half-happen: the client is still bound.
  assert.equal(
    h.authorization.clients.find((c) => c.clientPubkey === connected.pubkey)?.loggedOut,
    false,
  );

  h.databaseDown = false;
  h.deliver(h.request(newcomer, { id: "c2", method: "connect", params: ["", HARNESS_SECRET] }));
  await h.settle();
  assert.equal(h.repliesTo(newcomer).find((reply) => reply.id === "c2")?.result, "ack");
});

/** A signer that counts the worker jobs each client pubkey costs (unwrap, respond, reject). */
function countingJobs(jobs: Map<string, number>): (pool: SignerPool) => ListenerSigner {
  const count = (pubkey: unknown) => jobs.set(String(pubkey), (jobs.get(String(pubkey)) ?? 0) + 1);
  return (pool) => ({
    unwrapRequest: (input) => {
      count((input.event as NostrEvent).pubkey);
      return pool.unwrapRequest(input);
    },
    respond: (input) => {
      count(input.clientPubkey);
      return pool.respond(input);
    },
    rejectRequest: (input) => {
      count((input.event as NostrEvent).pubkey);
      return pool.rejectRequest(input);
    },
    signWithKey: (input) => pool.signWithKey(input),
  });
}

Deno.test("a flood from an unconnected key costs about its burst in worker jobs; a connected client signing meanwhile is served", async () => {
  const jobs = new Map<string, number>();
  const frozen = Date.now(); // no refill while the flood is processed: the count is exact
  await using h = await ListenerHarness.start({
    workers: 1,
    wrapSigner: countingJobs(jobs),
    listener: { now: () => frozen },
  });
  const connected = h.connectedClient();
  const flooder = h.newClient();
  const total = 500;
  const flood = Array.from(
    { length: total },
    (_, i) => h.request(flooder, { id: `f-${i}`, method: "ping", params: [] }),
  );
  const signs = Array.from(
    { length: 20 },
    (_, i) => h.request(connected, { id: `s-${i}`, method: "sign_event", params: [TEMPLATE] }),
  );
  for (let i = 0; i < total; i++) {
    h.deliver(flood[i]);
    if (i % 25 === 0) h.deliver(signs[i / 25]);
  }
  await h.settle();

  const signed = h.repliesTo(connected);
  assert.deepEqual(signed.map((reply) => reply.id).sort(), signs.map((_, i) => `s-${i}`).sort());
  for (const reply of signed) {
    assert.equal(reply.error, undefined);
    assert.equal(JSON.parse(reply.result).pubkey, h.user.pubkey);
  }
  // Burst 10 (defaults): one unwrap and one respond job for each admitted ping.
  assert.equal(jobs.get(flooder.pubkey), 2 * 10);
  assert.equal(h.repliesTo(flooder).length, 10);
  assert.equal(h.listener.stats.unconnectedDropped, total - 10);
  assert.deepEqual(h.logs.filter((record) => record.level !== "debug"), []);
});

Deno.test("a sign_event sent twice with the same id gets the identical signed event, signed once", async () => {
  const jobs = new Map<string, number>();
  await using h = await ListenerHarness.start({ workers: 1, wrapSigner: countingJobs(jobs) });
  const client = h.connectedClient();
  const request = { id: "retried", method: "sign_event", params: [TEMPLATE] };
  h.deliver(h.request(client, request));
  await h.settle();
  // The client lost the reply and sends the request again: a new event with the same id.
  h.deliver(h.request(client, request));
  await h.settle();

  const [first, second, ...more] = h.repliesTo(client);
  assert.deepEqual(more, []);
  assert.equal(first?.id, "retried");
  assert.deepEqual(second, first, "the same reply");
  assert.equal(h.published[1]?.content, h.published[0]?.content, "the same encrypted reply");
  assert.notEqual(h.published[1]?.id, undefined);
  assert.equal(h.published[1]?.pubkey, h.bunker.pubkey, "re-sent from the bunker key");
  const event = JSON.parse(first?.result ?? "{}");
  assert.equal(event.pubkey, h.user.pubkey);
  assert.equal(h.decisions.length, 1, "one audit row");
  assert.equal(jobs.get(client.pubkey), 2 + 1, "two unwraps, one respond");
  assert.equal(h.listener.stats.resent, 1);
});
