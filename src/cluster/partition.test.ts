import assert from "node:assert/strict";
import { PartitionedWatch, type PartitionPool, READY_WAIT_MS } from "./partition.ts";
import { FakeClock, settle } from "./testing.ts";

const RELAYS = ["wss://relay.test"];

/** A bunker pubkey in `slot` (its first three hex digits), told apart by `n`. */
function bunkerIn(slot: number, n = 0): string {
  return slot.toString(16).padStart(3, "0") + n.toString(16).padStart(61, "0");
}

/** A relay pool that records what it is told and answers `ready` when the test says. */
class FakePool implements PartitionPool {
  readonly watched = new Map<string, readonly string[]>();
  readonly calls: string[] = [];
  readonly readyCalls: { bunkerPubkey: string; timeoutMs?: number }[] = [];
  #ready = Promise.withResolvers<boolean>();

  constructor(readyAtOnce = true) {
    if (readyAtOnce) this.#ready.resolve(true);
  }

  watch(bunkerPubkey: string, relays: readonly string[]): void {
    this.calls.push(`watch ${bunkerPubkey}`);
    this.watched.set(bunkerPubkey, relays);
  }

  unwatch(bunkerPubkey: string): void {
    this.calls.push(`unwatch ${bunkerPubkey}`);
    this.watched.delete(bunkerPubkey);
  }

  ready(bunkerPubkey: string, opts: { timeoutMs?: number } = {}): Promise<boolean> {
    this.readyCalls.push({ bunkerPubkey, timeoutMs: opts.timeoutMs });
    return this.#ready.promise;
  }

  /** Answers every `ready` call, past and future. */
  subscribed(): void {
    this.#ready.resolve(true);
  }
}

Deno.test("PartitionedWatch watches only the bunkers of the slots it serves", async () => {
  const pool = new FakePool();
  using watch = new PartitionedWatch(pool, new FakeClock());
  await watch.serve(new Set([1]));
  watch.watch(bunkerIn(1), RELAYS);
  watch.watch(bunkerIn(2), RELAYS);
  assert.deepEqual(pool.calls, [`watch ${bunkerIn(1)}`]);
  assert.deepEqual(pool.watched.get(bunkerIn(1)), RELAYS);
  assert.equal(watch.watched, 1);
  assert.equal(watch.serves(bunkerIn(1, 7)), true);
  assert.equal(watch.serves(bunkerIn(2)), false);
});

Deno.test("PartitionedWatch.serve() watches the bunkers it gains and unwatches those it loses", async () => {
  const pool = new FakePool();
  using watch = new PartitionedWatch(pool, new FakeClock());
  await watch.serve(new Set([1]));
  watch.watch(bunkerIn(1), RELAYS);
  watch.watch(bunkerIn(2), ["wss://two.test"]);
  watch.watch(bunkerIn(3), RELAYS);
  pool.calls.length = 0;

  await watch.serve(new Set([2, 3]));
  assert.deepEqual(pool.calls.sort(), [
    `unwatch ${bunkerIn(1)}`,
    `watch ${bunkerIn(2)}`,
    `watch ${bunkerIn(3)}`,
  ]);
  assert.deepEqual(pool.watched.get(bunkerIn(2)), ["wss://two.test"], "with its own relays");
  assert.deepEqual(
    pool.readyCalls.map((call) => [call.bunkerPubkey, call.timeoutMs]).sort(),
    [[bunkerIn(2), READY_WAIT_MS], [bunkerIn(3), READY_WAIT_MS]],
  );
  assert.equal(watch.watched, 2);

  pool.calls.length = 0;
  await watch.serve(new Set([3, 2]));
  assert.deepEqual(pool.calls, [], "the same slots again change nothing");
});

Deno.test("PartitionedWatch.serve() waits for a sample of the new subscriptions", async () => {
  const pool = new FakePool(false);
  using watch = new PartitionedWatch(pool, new FakeClock());
  for (let n = 0; n < 60; n++) watch.watch(bunkerIn(5, n), RELAYS);
  assert.equal(pool.calls.length, 0);
  let served = false;
  const serving = watch.serve(new Set([5])).then(() => (served = true));
  await settle();
  assert.equal(watch.watched, 60, "every bunker is watched at once");
  assert.equal(pool.readyCalls.length, 50, "only a sample is waited for");
  assert.equal(served, false, "serve() waits until they are subscribed");
  pool.subscribed();
  await serving;
  assert.equal(served, true);
});

Deno.test("PartitionedWatch.unwatch() forgets a bunker: a later serve() does not watch it again", async () => {
  const pool = new FakePool();
  using watch = new PartitionedWatch(pool, new FakeClock());
  await watch.serve(new Set([1]));
  watch.watch(bunkerIn(1), RELAYS);
  watch.watch(bunkerIn(2), RELAYS);
  watch.unwatch(bunkerIn(1));
  watch.unwatch(bunkerIn(2));
  assert.deepEqual(pool.calls, [`watch ${bunkerIn(1)}`, `unwatch ${bunkerIn(1)}`]);
  await watch.serve(new Set([1, 2]));
  assert.equal(pool.watched.size, 0);
  assert.equal(watch.watched, 0);
});

Deno.test("PartitionedWatch.hold() watches a bunker of another slot for a while, then lets it go", async () => {
  const clock = new FakeClock();
  const pool = new FakePool();
  using watch = new PartitionedWatch(pool, clock);
  await watch.serve(new Set([1]));
  const other = bunkerIn(2);
  watch.watch(other, RELAYS);
  assert.equal(pool.watched.has(other), false);

  assert.equal(await watch.hold(other, 1_000), true);
  assert.equal(pool.watched.has(other), true);
  assert.deepEqual(pool.readyCalls.map((call) => call.bunkerPubkey), [other]);
  await watch.serve(new Set([1, 3]));
  assert.equal(pool.watched.has(other), true, "a change of slots keeps a held bunker");

  await clock.tick(999);
  assert.equal(pool.watched.has(other), true);
  await clock.tick(1);
  assert.equal(pool.watched.has(other), false, "unwatched when the hold ends");
  assert.equal(watch.watched, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("PartitionedWatch.hold() leaves a bunker watched when its slot became this instance's", async () => {
  const clock = new FakeClock();
  const pool = new FakePool();
  using watch = new PartitionedWatch(pool, clock);
  const bunker = bunkerIn(2);
  watch.watch(bunker, RELAYS);
  await watch.hold(bunker, 1_000);
  await watch.serve(new Set([2]));
  await clock.tick(1_000);
  assert.equal(pool.watched.has(bunker), true);
  assert.deepEqual(pool.calls, [`watch ${bunker}`], "watched once, never unwatched");
});

Deno.test("PartitionedWatch.hold() of a bunker not wanted yet watches it once it is, until the end", async () => {
  const clock = new FakeClock();
  const pool = new FakePool();
  using watch = new PartitionedWatch(pool, clock);
  const bunker = bunkerIn(9);
  const holding = watch.hold(bunker, 500);
  assert.equal(pool.watched.has(bunker), false, "no relays known for it yet");
  watch.watch(bunker, RELAYS);
  assert.equal(pool.watched.has(bunker), true);
  assert.equal(await holding, true);
  // A second hold restarts the time.
  await clock.tick(400);
  await watch.hold(bunker, 500);
  await clock.tick(400);
  assert.equal(pool.watched.has(bunker), true);
  await clock.tick(100);
  assert.equal(pool.watched.has(bunker), false);
});

Deno.test("PartitionedWatch disposal ends the holds' timers", async () => {
  const clock = new FakeClock();
  const pool = new FakePool();
  const watch = new PartitionedWatch(pool, clock);
  await watch.hold(bunkerIn(1), 1_000);
  await watch.hold(bunkerIn(2), 1_000);
  assert.equal(clock.pending, 2);
  watch[Symbol.dispose]();
  assert.equal(clock.pending, 0);
});

Deno.test("PartitionedWatch.serve() says whether gained bunkers are subscribed, and asks again later", async () => {
  /** A pool whose `ready` answers what the test sets, at once. */
  class AnsweringPool extends FakePool {
    answer = false;
    override ready(bunkerPubkey: string, opts: { timeoutMs?: number } = {}): Promise<boolean> {
      this.readyCalls.push({ bunkerPubkey, timeoutMs: opts.timeoutMs });
      return Promise.resolve(this.answer);
    }
  }
  const pool = new AnsweringPool();
  using watch = new PartitionedWatch(pool, new FakeClock());
  watch.watch(bunkerIn(1), RELAYS);
  assert.equal(await watch.serve(new Set([1]), 10), false, "not subscribed yet");
  // Nothing new gained, but the earlier gain is still unconfirmed: asked again.
  assert.equal(await watch.serve(new Set([1]), 10), false);
  pool.answer = true;
  assert.equal(await watch.serve(new Set([1]), 10), true);
  assert.deepEqual(pool.readyCalls.map((call) => call.bunkerPubkey), [
    bunkerIn(1),
    bunkerIn(1),
    bunkerIn(1),
  ]);
  assert.equal(await watch.serve(new Set([1]), 10), true, "confirmed once, not asked again");
  assert.equal(pool.readyCalls.length, 3);
  // A gained bunker given up before it was confirmed is not waited for.
  pool.answer = false;
  watch.watch(bunkerIn(2), RELAYS);
  assert.equal(await watch.serve(new Set([1, 2]), 10), false);
  assert.equal(await watch.serve(new Set([1]), 10), true);
});
