import assert from "node:assert/strict";
import { deadline, delay, QueueFullError, Semaphore, TimeoutError } from "./async.ts";

/** A promise that never settles (and holds no timer). */
const never = () => new Promise<never>(() => {});

/** Lets queued microtasks and promise reactions run. */
const settle = () => new Promise<void>((resolve) => queueMicrotask(resolve));

Deno.test("delay() resolves after the given time", async () => {
  const start = performance.now();
  await delay(20);
  assert.ok(performance.now() - start >= 19, "delay resolved too early");
});

Deno.test("delay() rejects with the abort reason and clears its timer", async () => {
  const controller = new AbortController();
  const reason = new Error("stop");
  const pending = delay(60_000, { signal: controller.signal });
  controller.abort(reason);
  // A timer left behind would fail this test under --sanitize-ops.
  await assert.rejects(pending, (error) => error === reason);
});

Deno.test("delay() rejects at once when the signal is already aborted", async () => {
  const reason = new Error("already");
  await assert.rejects(delay(60_000, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
});

Deno.test("delay() rejects a negative, NaN or too long duration", async () => {
  for (const ms of [-1, Number.NaN, Infinity, 2 ** 31]) {
    await assert.rejects(delay(ms), RangeError);
  }
});

Deno.test("deadline() resolves with the value and clears its timer", async () => {
  assert.equal(await deadline(Promise.resolve(42), 60_000), 42);
});

Deno.test("deadline() passes the promise's rejection through", async () => {
  const failure = new Error("inner");
  await assert.rejects(deadline(Promise.reject(failure), 60_000), (e) => e === failure);
});

Deno.test("deadline() rejects with TimeoutError when the promise is too slow", async () => {
  const start = performance.now();
  await assert.rejects(deadline(never(), 20), TimeoutError);
  assert.ok(performance.now() - start >= 19, "deadline fired too early");
});

Deno.test("deadline() rejects with the abort reason and clears its timer", async () => {
  const controller = new AbortController();
  const reason = new Error("cancelled");
  const pending = deadline(never(), 60_000, { signal: controller.signal });
  controller.abort(reason);
  await assert.rejects(pending, (e) => e === reason);
  await assert.rejects(
    deadline(never(), 60_000, { signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
});

Deno.test("Semaphore constructor rejects invalid permits and maxWaiting", () => {
  for (const permits of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new Semaphore(permits), RangeError);
  }
  assert.throws(() => new Semaphore(1, { maxWaiting: -1 }), RangeError);
  assert.throws(() => new Semaphore(1, { maxWaiting: 0.5 }), RangeError);
  assert.equal(new Semaphore(3, { maxWaiting: 0 }).permits, 3);
});

Deno.test("Semaphore.tryAcquire() takes free permits and then returns undefined", () => {
  const semaphore = new Semaphore(2);
  const first = semaphore.tryAcquire();
  const second = semaphore.tryAcquire();
  assert.ok(first && second);
  assert.equal(semaphore.available, 0);
  assert.equal(semaphore.tryAcquire(), undefined);
  first();
  assert.equal(semaphore.available, 1);
  second();
  assert.equal(semaphore.available, 2);
});

Deno.test("Semaphore release is idempotent", async () => {
  const semaphore = new Semaphore(1);
  const release = await semaphore.acquire();
  release();
  release();
  assert.equal(semaphore.available, 1, "a double release must not add a permit");
  const again = semaphore.tryAcquire();
  assert.ok(again);
  release(); // the stale release must not free the permit held by `again`
  assert.equal(semaphore.available, 0);
  again();
  assert.equal(semaphore.available, 1);
});

Deno.test("Semaphore.acquire() serves waiters in FIFO order", async () => {
  const semaphore = new Semaphore(1);
  const held = semaphore.tryAcquire()!;
  const order: number[] = [];
  const waiters = [1, 2, 3].map((n) =>
    semaphore.acquire().then((release) => {
      order.push(n);
      release();
    })
  );
  assert.equal(semaphore.waiting, 3);
  held();
  await Promise.all(waiters);
  assert.deepEqual(order, [1, 2, 3]);
  assert.equal(semaphore.available, 1);
  assert.equal(semaphore.waiting, 0);
});

Deno.test("Semaphore hands a released permit to the waiter, not to tryAcquire()", async () => {
  const semaphore = new Semaphore(1);
  const held = semaphore.tryAcquire()!;
  const waiting = semaphore.acquire();
  held();
  assert.equal(semaphore.tryAcquire(), undefined, "tryAcquire jumped the queue");
  assert.equal(semaphore.available, 0);
  (await waiting)();
  assert.equal(semaphore.available, 1);
});

Deno.test("Semaphore.acquire() rejects when the wait queue is full", async () => {
  const semaphore = new Semaphore(1, { maxWaiting: 1 });
  const held = semaphore.tryAcquire()!;
  const queued = semaphore.acquire();
  await assert.rejects(semaphore.acquire(), QueueFullError);
  assert.equal(semaphore.waiting, 1);
  held();
  (await queued)();
  assert.equal(semaphore.available, 1);
});

Deno.test("Semaphore.acquire() with maxWaiting 0 fails at once when no permit is free", async () => {
  const semaphore = new Semaphore(1, { maxWaiting: 0 });
  const release = await semaphore.acquire();
  await assert.rejects(semaphore.acquire(), QueueFullError);
  release();
  (await semaphore.acquire())();
});

Deno.test("Semaphore.acquire() abort removes the waiter from the queue", async () => {
  const semaphore = new Semaphore(1, { maxWaiting: 2 });
  const held = semaphore.tryAcquire()!;
  const controller = new AbortController();
  const reason = new Error("gave up");
  const aborted = semaphore.acquire({ signal: controller.signal });
  const kept = semaphore.acquire();
  assert.equal(semaphore.waiting, 2);
  controller.abort(reason);
  await assert.rejects(aborted, (e) => e === reason);
  assert.equal(semaphore.waiting, 1);
  held();
  (await kept)();
  assert.equal(semaphore.available, 1, "the aborted waiter must not hold a permit");
});

Deno.test("Semaphore.acquire() rejects at once with an aborted signal", async () => {
  const semaphore = new Semaphore(1);
  const reason = new Error("no");
  await assert.rejects(
    semaphore.acquire({ signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
  assert.equal(semaphore.available, 1);
});

Deno.test("Semaphore.acquire() ignores an abort after the permit was granted", async () => {
  const semaphore = new Semaphore(1);
  const held = semaphore.tryAcquire()!;
  const controller = new AbortController();
  const pending = semaphore.acquire({ signal: controller.signal });
  held();
  await settle();
  controller.abort();
  const release = await pending;
  assert.equal(semaphore.available, 0);
  release();
  assert.equal(semaphore.available, 1);
});
