import assert from "node:assert/strict";
import { eventually } from "../../tests/helpers/eventually.ts";
import { RelayPool } from "./pool.ts";
import { isTransientRefusal } from "./publish.ts";
import { captureLog, closedPort, FakeRelay, randomHex64, testPoolOptions } from "./testing.ts";
import type { NostrEvent, PublishResult } from "./types.ts";

function fakeEvent(content = "ciphertext"): NostrEvent {
  return {
    id: randomHex64(),
    pubkey: randomHex64(),
    created_at: Math.floor(Date.now() / 1000),
    kind: 24133,
    tags: [["p", randomHex64()]],
    content,
    sig: "00".repeat(64),
  };
}

Deno.test("RelayPool.publish() waits for OK and reports OK true", async () => {
  await using relay = await FakeRelay.start({ answerEvent: () => [true, "duplicate: seen"] });
  await using pool = new RelayPool(testPoolOptions());
  const event = fakeEvent();
  const results = await pool.publish(event, [relay.url, `${relay.url}/`]);
  assert.deepEqual(results, [{ url: relay.url, ok: true, message: "duplicate: seen" }]);
  assert.deepEqual(relay.messages("EVENT"), [["EVENT", event]]);
});

Deno.test("RelayPool.publish() reports OK false at once for a permanent refusal", async () => {
  let calls = 0;
  await using relay = await FakeRelay.start({
    answerEvent: () => (calls++, [false, "invalid: bad signature"]),
  });
  await using pool = new RelayPool(testPoolOptions());
  const started = Date.now();
  const [result] = await pool.publish(fakeEvent(), [relay.url], { timeoutMs: 3_000 });
  assert.deepEqual(result, { url: relay.url, ok: false, message: "invalid: bad signature" });
  assert.equal(calls, 1);
  assert.ok(Date.now() - started < 1_000);
});

Deno.test("RelayPool.publish() retries after rate-limited: and error: until OK", async () => {
  const answers: [boolean, string][] = [[false, "rate-limited: slow down"], [
    false,
    "error: db busy",
  ], [true, ""]];
  await using relay = await FakeRelay.start({ answerEvent: () => answers.shift() });
  await using pool = new RelayPool(testPoolOptions());
  const [result] = await pool.publish(fakeEvent(), [relay.url], { timeoutMs: 3_000 });
  assert.deepEqual(result, { url: relay.url, ok: true, message: "" });
  assert.equal(relay.messages("EVENT").length, 3);
});

Deno.test("RelayPool.publish() reports a timeout when the relay never answers OK", async () => {
  await using relay = await FakeRelay.start({ answerEvent: () => undefined });
  await using pool = new RelayPool(testPoolOptions());
  const started = Date.now();
  const [result] = await pool.publish(fakeEvent(), [relay.url], { timeoutMs: 150 });
  assert.equal(result?.ok, false);
  assert.match(result!.message, /^timeout: no OK within 150 ms/);
  assert.ok(Date.now() - started >= 140);
});

Deno.test("RelayPool.publish() succeeds once a down relay comes back", async () => {
  const port = await closedPort();
  const { log, records } = captureLog();
  await using pool = new RelayPool(testPoolOptions({ log }));
  const event = fakeEvent();
  const published = pool.publish(event, [`ws://127.0.0.1:${port}`], { timeoutMs: 4_000 });
  await eventually("the pool has failed to connect", () => {
    return records.some((r) => r.msg === "Cannot connect to relay");
  }, { timeoutMs: 2_000, intervalMs: 5 });
  await using relay = await FakeRelay.start({ port });
  const [result] = await published;
  assert.equal(result?.ok, true, String(result?.message));
  assert.deepEqual(relay.messages("EVENT"), [["EVENT", event]]);
});

Deno.test("RelayPool.publish() to a dead and a live relay is not slowed by the dead one", async () => {
  await using live = await FakeRelay.start();
  await using pool = new RelayPool(testPoolOptions());
  const dead = `ws://127.0.0.1:${await closedPort()}`;
  const started = Date.now();
  let liveAt = 0;
  const results = await pool.publish(fakeEvent(), [dead, live.url], {
    timeoutMs: 800,
    onResult: (r) => {
      if (r.url === live.url) liveAt = Date.now() - started;
    },
  });
  const byUrl = new Map(results.map((r: PublishResult) => [r.url, r]));
  assert.equal(byUrl.get(live.url)?.ok, true);
  assert.ok(liveAt > 0 && liveAt < 500, `live relay answered after ${liveAt} ms`);
  assert.equal(byUrl.get(dead)?.ok, false);
  assert.match(byUrl.get(dead)!.message, /^timeout: .*unreachable/);
});

Deno.test("RelayPool.publish() honours its AbortSignal", async () => {
  await using relay = await FakeRelay.start({ answerEvent: () => undefined });
  await using pool = new RelayPool(testPoolOptions());
  const abort = new AbortController();
  const published = pool.publish(fakeEvent(), [relay.url], {
    timeoutMs: 5_000,
    signal: abort.signal,
  });
  await relay.waitFor((r) => r.message[0] === "EVENT");
  abort.abort();
  const [result] = await published;
  assert.equal(result?.ok, false);
  assert.match(result!.message, /^aborted:/);
});

Deno.test("RelayPool.publish() rejects an event without a hex id", async () => {
  await using pool = new RelayPool(testPoolOptions());
  await assert.rejects(
    pool.publish({ ...fakeEvent(), id: "nope" }, ["ws://127.0.0.1:1"]),
    TypeError,
  );
});

Deno.test("isTransientRefusal() retries rate-limited: and error: only", () => {
  assert.equal(isTransientRefusal("rate-limited: too fast"), true);
  assert.equal(isTransientRefusal("error: internal"), true);
  for (const message of ["invalid: sig", "blocked: no", "pow: 20", "", "restricted: x"]) {
    assert.equal(isTransientRefusal(message), false);
  }
});

Deno.test("RelayPool relay sockets do not stall on >1 KB messages (TCP_NODELAY)", async () => {
  // Nagle's algorithm with delayed ACKs costs ~40 ms per round trip here; ten sequential 2 KB
  // publish round trips take a few ms with TCP_NODELAY. The bound is loose on purpose.
  await using relay = await FakeRelay.start();
  await using pool = new RelayPool(testPoolOptions());
  await pool.publish(fakeEvent(), [relay.url]);
  const started = performance.now();
  for (let i = 0; i < 10; i++) {
    const [result] = await pool.publish(fakeEvent("x".repeat(2_048)), [relay.url]);
    assert.equal(result?.ok, true);
  }
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 300, `10 round trips took ${elapsed.toFixed(0)} ms`);
});
