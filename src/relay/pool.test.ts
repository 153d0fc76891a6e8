import assert from "node:assert/strict";
import { eventually } from "../../tests/helpers/eventually.ts";
import { RelayPool } from "./pool.ts";
import { captureLog, closedPort, FakeRelay, randomHex64, testPoolOptions } from "./testing.ts";

type Filter = { kinds: number[]; "#p"?: string[]; since: number };

const reqFilters = (message: unknown[]) => message.slice(2) as Filter[];

/** True once every pubkey's REQ has been answered with EOSE (so the relay has received it). */
async function allReady(pool: RelayPool, pubkeys: string[]): Promise<boolean> {
  return (await Promise.all(pubkeys.map((pk) => pool.ready(pk)))).every(Boolean);
}

Deno.test("RelayPool.watch() sends a REQ for kind 24133 with #p and since = now - window", async () => {
  await using relay = await FakeRelay.start();
  await using pool = new RelayPool(testPoolOptions({ windowSeconds: 120 }));
  const bunkerPubkey = randomHex64();
  pool.watch(bunkerPubkey, [relay.url]);
  const { message } = await relay.waitFor((r) => r.message[0] === "REQ");
  assert.equal(typeof message[1], "string");
  const [filter, ...rest] = reqFilters(message);
  assert.equal(rest.length, 0);
  assert.deepEqual(filter?.kinds, [24133]);
  assert.deepEqual(filter?.["#p"], [bunkerPubkey]);
  assert.ok(Math.abs(filter!.since - (Math.floor(Date.now() / 1000) - 120)) <= 2);
});

Deno.test("RelayPool packs 1,200 pubkeys into 3 filters of at most 500", async () => {
  await using relay = await FakeRelay.start();
  await using pool = new RelayPool(testPoolOptions());
  const pubkeys = Array.from({ length: 1_200 }, randomHex64);
  for (const pk of pubkeys) pool.watch(pk, [relay.url]);
  assert.equal(await allReady(pool, pubkeys), true);
  const reqs = relay.messages("REQ");
  const filters = reqs.flatMap(reqFilters);
  assert.deepEqual(filters.map((f) => f["#p"]?.length), [500, 500, 200]);
  assert.ok(reqs.length <= 3);
  assert.deepEqual(new Set(filters.flatMap((f) => f["#p"] ?? [])), new Set(pubkeys));
  for (const req of reqs) assert.ok(JSON.stringify(req).length < 98_304);
});

Deno.test("RelayPool coalesces 1,000 watch() calls into a few REQs", async () => {
  await using relay = await FakeRelay.start();
  await using pool = new RelayPool(testPoolOptions({ maxPubkeysPerFilter: 100 }));
  const pubkeys = Array.from({ length: 1_000 }, randomHex64);
  for (const pk of pubkeys) pool.watch(pk, [relay.url]);
  assert.equal(await allReady(pool, pubkeys), true);
  const reqs = relay.messages("REQ");
  assert.ok(reqs.length >= 1 && reqs.length <= 3, `sent ${reqs.length} REQs`);
  assert.equal(reqs.flatMap(reqFilters).length, 10);
});

Deno.test("RelayPool.unwatch() re-sends only the REQ that held the pubkey", async () => {
  await using relay = await FakeRelay.start();
  await using pool = new RelayPool(testPoolOptions());
  const pubkeys = Array.from({ length: 1_200 }, randomHex64);
  for (const pk of pubkeys) pool.watch(pk, [relay.url]);
  assert.equal(await pool.ready(pubkeys[0]!), true);
  await relay.waitFor(() => relay.messages("REQ").length === 2);
  const [first, second] = relay.messages("REQ");
  const removed = pubkeys[1_100]!;
  assert.ok(reqFilters(second!).some((f) => f["#p"]?.includes(removed)));
  pool.unwatch(removed);
  await relay.waitFor((r) => r.message[0] === "CLOSE");
  await relay.waitFor(() => relay.messages("REQ").length === 3);
  const reqs = relay.messages("REQ");
  assert.equal(reqs.length, 3);
  const [filter, ...rest] = reqFilters(reqs[2]!);
  assert.equal(rest.length, 0);
  assert.equal(filter?.["#p"]?.length, 199);
  assert.ok(!filter?.["#p"]?.includes(removed));
  assert.deepEqual(relay.messages("CLOSE"), [["CLOSE", second![1]]]);
  assert.notEqual(reqs[2]![1], first![1]);
  assert.deepEqual(pool.relaysOf(removed), []);
  assert.equal(await pool.ready(removed), false);
});

Deno.test("RelayPool.watch() with a new relay set moves the pubkey and closes the emptied REQ", async () => {
  await using a = await FakeRelay.start();
  await using b = await FakeRelay.start();
  await using pool = new RelayPool(testPoolOptions());
  const bunkerPubkey = randomHex64();
  pool.watch(bunkerPubkey, [a.url]);
  assert.equal(await pool.ready(bunkerPubkey), true);
  pool.watch(bunkerPubkey, [`${b.url}/`]);
  await b.waitFor((r) => r.message[0] === "REQ");
  await a.waitFor((r) => r.message[0] === "CLOSE");
  assert.deepEqual(pool.relaysOf(bunkerPubkey), [b.url]);
});

Deno.test("RelayPool hands EVENTs to onEvent with the relay URL and drops duplicates and bad frames", async () => {
  await using relay = await FakeRelay.start();
  const seen: [unknown, string][] = [];
  const { log, records } = captureLog();
  await using pool = new RelayPool(testPoolOptions({
    log,
    maxMessageBytes: 4_096,
    onEvent: (event, url) => seen.push([event, url]),
  }));
  const bunkerPubkey = randomHex64();
  pool.watch(bunkerPubkey, [`${relay.url}/`]);
  const { message, client } = await relay.waitFor((r) => r.message[0] === "REQ");
  const event = { id: randomHex64(), kind: 24133, content: "ciphertext-do-not-log" };
  client.sendRaw("{not json");
  client.sendRaw(
    JSON.stringify(["EVENT", message[1], { id: randomHex64(), pad: "x".repeat(5_000) }]),
  );
  client.send(["EVENT", message[1], "not an object"]);
  client.send(["EVENT", message[1], event]);
  client.send(["EVENT", message[1], event]);
  client.send(["NOTICE", "slow down"]);
  await eventually(
    "the pool logged the NOTICE",
    () => records.some((r) => r.msg === "Relay NOTICE"),
    { timeoutMs: 2_000, intervalMs: 5 },
  );
  assert.deepEqual(seen, [[event, relay.url]]);
  assert.ok(records.some((r) => r.level === "warn" && r.msg === "Dropped malformed relay message"));
  assert.ok(records.some((r) => r.level === "warn" && r.notice === "slow down"));
  assert.ok(!JSON.stringify(records).includes("ciphertext-do-not-log"));
  assert.ok(pool.status()[0]?.lastEventAt);
});

Deno.test("RelayPool.ready() waits for EOSE and resolves false on timeout, abort or unknown pubkey", async () => {
  await using relay = await FakeRelay.start({ autoEose: false });
  const { log, records } = captureLog();
  await using pool = new RelayPool(testPoolOptions({ log }));
  const bunkerPubkey = randomHex64();
  assert.equal(await pool.ready(bunkerPubkey), false, "not watched");
  pool.watch(bunkerPubkey, [relay.url]);
  const { message, client } = await relay.waitFor((r) => r.message[0] === "REQ");
  assert.equal(await pool.ready(bunkerPubkey, { timeoutMs: 50 }), false);
  const aborted = new AbortController();
  const pending = pool.ready(bunkerPubkey, { signal: aborted.signal, timeoutMs: 5_000 });
  aborted.abort();
  assert.equal(await pending, false);
  let answered = false;
  const waiting = pool.ready(bunkerPubkey, { timeoutMs: 2_000 }).finally(() => (answered = true));
  client.send(["EOSE", "someone-else"]);
  // The pool reads a socket in order: once it has logged this NOTICE, it has handled the EOSE.
  client.send(["NOTICE", "after the other EOSE"]);
  await eventually(
    "the pool logged the NOTICE",
    () => records.some((r) => r.notice === "after the other EOSE"),
    { timeoutMs: 2_000, intervalMs: 5 },
  );
  assert.equal(answered, false, "an EOSE for another subscription does not end ready()");
  client.send(["EOSE", message[1]]);
  assert.equal(await waiting, true);
  assert.equal(pool.status()[0]?.subscribed, true);
});

Deno.test("RelayPool.ready() is true through a live relay while another relay is dead", async () => {
  await using live = await FakeRelay.start();
  await using pool = new RelayPool(testPoolOptions({ connectTimeoutMs: 5_000 }));
  const dead = `ws://127.0.0.1:${await closedPort()}`;
  const bunkerPubkey = randomHex64();
  const started = Date.now();
  pool.watch(bunkerPubkey, [dead, live.url]);
  assert.equal(await pool.ready(bunkerPubkey, { timeoutMs: 3_000 }), true);
  assert.ok(Date.now() - started < 1_000, "the dead relay did not delay the live one");
  const byUrl = new Map(pool.status().map((s) => [s.url, s]));
  assert.equal(byUrl.get(live.url)?.connected, true);
  assert.equal(byUrl.get(dead)?.connected, false);
});

Deno.test("RelayPool opens another connection when one would carry too many REQs", async () => {
  await using relay = await FakeRelay.start();
  await using pool = new RelayPool(testPoolOptions({
    maxPubkeysPerFilter: 1,
    maxFiltersPerReq: 1,
    maxReqsPerConnection: 2,
  }));
  const pubkeys = Array.from({ length: 5 }, randomHex64);
  for (const pk of pubkeys) pool.watch(pk, [relay.url]);
  for (const pk of pubkeys) assert.equal(await pool.ready(pk), true);
  assert.equal(relay.openClients.length, 3);
  for (const client of relay.openClients) {
    const reqs = relay.received.filter((r) => r.client === client && r.message[0] === "REQ");
    assert.ok(reqs.length >= 1 && reqs.length <= 2);
  }
  assert.equal(pool.status()[0]?.connections, 3);
  pool.unwatch(pubkeys[4]!);
  await eventually("the emptied connection closed", () => relay.openClients.length <= 2, {
    timeoutMs: 2_000,
    intervalMs: 5,
  });
  assert.equal(relay.openClients.length, 2, "the emptied connection closed");
});

Deno.test("RelayPool in subscribe-all mode sends one REQ without #p", async () => {
  await using relay = await FakeRelay.start();
  await using pool = new RelayPool(testPoolOptions({ subscribeAll: true }));
  const pubkeys = Array.from({ length: 20 }, randomHex64);
  for (const pk of pubkeys) pool.watch(pk, [relay.url]);
  for (const pk of pubkeys) assert.equal(await pool.ready(pk), true);
  const reqs = relay.messages("REQ");
  assert.equal(reqs.length, 1);
  const [filter] = reqFilters(reqs[0]!);
  assert.deepEqual(Object.keys(filter!).sort(), ["kinds", "since"]);
});

Deno.test("RelayPool.close() ends pending ready() and publish() at once and refuses watch()", async () => {
  const pool = new RelayPool(testPoolOptions({ connectTimeoutMs: 5_000 }));
  const dead = `ws://127.0.0.1:${await closedPort()}`;
  const bunkerPubkey = randomHex64();
  pool.watch(bunkerPubkey, [dead]);
  const ready = pool.ready(bunkerPubkey, { timeoutMs: 10_000 });
  const event = {
    id: randomHex64(),
    pubkey: bunkerPubkey,
    created_at: 0,
    kind: 24133,
    tags: [],
    content: "",
    sig: "",
  };
  const published = pool.publish(event, [dead], { timeoutMs: 10_000 });
  await eventually("the pool has tried the dead relay", () => !!pool.status()[0]?.lastError, {
    timeoutMs: 2_000,
    intervalMs: 5,
  });
  const started = Date.now();
  await pool.close();
  assert.equal(await ready, false);
  const [result] = await published;
  assert.equal(result?.ok, false);
  assert.match(result!.message, /^(aborted|closed):/);
  assert.ok(Date.now() - started < 1_000);
  assert.throws(() => pool.watch(bunkerPubkey, [dead]), /closed/);
  assert.deepEqual(pool.status(), []);
});
