import assert from "node:assert/strict";
import type { LogRecord } from "../log.ts";
import { Membership } from "./membership.ts";
import { SLOT_COUNT, slotsOf } from "./slots.ts";
import { FakeClock, FakeCluster, type FakeMembershipStore } from "./testing.ts";

/** The lease of the instances below, in ms: a heartbeat every 3 s, the fence 1.8 s early. */
const LEASE_MS = 9_000;
/** When a lease renewed by a heartbeat sent at 0 runs out by the instance's own clock, in ms. */
const FENCE_AT_MS = LEASE_MS - 1_800;

const A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/** One instance on the fake cluster, with what it was told to serve and what it logged. */
interface Instance {
  id: string;
  store: FakeMembershipStore;
  membership: Membership;
  /** The slots it serves now (the last `serve` call). */
  served(): ReadonlySet<number>;
  /** Every `serve` call so far. */
  serveCalls: ReadonlySet<number>[];
  logs: LogRecord[];
}

function instance(cluster: FakeCluster, id: string): Instance {
  const store = cluster.store();
  const serveCalls: ReadonlySet<number>[] = [];
  const logs: LogRecord[] = [];
  const membership = new Membership({
    store,
    self: { id, address: "127.0.0.1:8080", version: "test" },
    leaseMs: LEASE_MS,
    serve: (slots) => {
      serveCalls.push(slots);
      return Promise.resolve(true);
    },
    log: (record) => void logs.push(record),
    now: () => cluster.clock.now,
    timers: cluster.clock,
  });
  return {
    id,
    store,
    membership,
    served: () => serveCalls.at(-1) ?? new Set(),
    serveCalls,
    logs,
  };
}

/** Asserts that every slot is served by at least one of `instances`. */
function assertCovered(instances: Instance[], when: string): void {
  const union = new Set<number>();
  for (const one of instances) for (const slot of one.served()) union.add(slot);
  assert.equal(union.size, SLOT_COUNT, `every slot is served ${when}`);
}

/** Asserts that `instances` serve disjoint shares that together cover every slot. */
function assertPartitioned(instances: Instance[]): void {
  const owners = instances.map((one) => one.id);
  let total = 0;
  for (const one of instances) {
    assert.deepEqual(one.served(), slotsOf(one.id, owners), `${one.id} serves its share`);
    total += one.served().size;
  }
  assert.equal(total, SLOT_COUNT);
  assertCovered(instances, "once settled");
}

/** Two instances started one after the other and settled: each serves its own share. */
async function twoInstances(clock: FakeClock) {
  const cluster = new FakeCluster(clock);
  const a = instance(cluster, A);
  const b = instance(cluster, B);
  await a.membership.start();
  await b.membership.start();
  await clock.tick(10);
  assertPartitioned([a, b]);
  return { cluster, a, b };
}

Deno.test("Membership: a lone instance joins, acknowledges and serves every slot", async () => {
  const clock = new FakeClock();
  const cluster = new FakeCluster(clock);
  const a = instance(cluster, A);
  await using _ = a.membership;
  await a.membership.start();
  assert.equal(a.served().size, SLOT_COUNT);
  assert.deepEqual(a.membership.status(), {
    id: A,
    generation: 1,
    instances: 1,
    servedSlots: SLOT_COUNT,
    fenced: false,
    leaving: false,
    changes: 1,
    expiries: 0,
  });
  await clock.tick(0);
  assert.equal(cluster.rows.get(A)?.view, 1, "the assignment is acknowledged");

  // It renews its lease every third of it.
  const renewedAt = cluster.rows.get(A)!.leaseUntil.getTime();
  const beats = a.store.heartbeats;
  await clock.tick(LEASE_MS / 3);
  assert.equal(a.store.heartbeats, beats + 1);
  assert.equal(cluster.rows.get(A)!.leaseUntil.getTime(), renewedAt + LEASE_MS / 3);

  // beat() runs one at once and resolves when it is done.
  await a.membership.beat();
  assert.equal(a.store.heartbeats, beats + 2);
});

Deno.test("Membership: the old owner keeps a joining instance's slots until it acknowledged", async () => {
  const clock = new FakeClock();
  const cluster = new FakeCluster(clock);
  const a = instance(cluster, A);
  const b = instance(cluster, B);
  await using _a = a.membership;
  await using _b = b.membership;
  await a.membership.start();
  assert.equal(a.served().size, SLOT_COUNT);

  // B joins, but its acknowledgement is held back.
  const ack = Promise.withResolvers<void>();
  b.store.ackGate = ack.promise;
  const starting = b.membership.start();
  await clock.tick(10);
  assert.deepEqual(b.served(), slotsOf(B, [A, B]), "the joiner serves its share at once");
  assert.equal(a.served().size, SLOT_COUNT, "A still serves B's share: B has not acknowledged");
  assert.equal(a.membership.status().generation, 2);
  assert.equal(cluster.rows.get(A)?.view, 2, "A acknowledged the new generation");
  await clock.tick(LEASE_MS / 3);
  assert.equal(a.served().size, SLOT_COUNT, "a heartbeat alone does not release them");
  assert.equal(b.store.heartbeats, 1, "a notice's heartbeat waits for the one under way");

  ack.resolve();
  await starting;
  await clock.tick(10);
  assertPartitioned([a, b]);
  // Never a moment with a slot nobody served.
  for (const calls of a.serveCalls) assert.ok(calls.size >= slotsOf(A, [A, B]).size);
  assert.equal(a.membership.status().instances, 2);
});

Deno.test("Membership.handOver() keeps serving until the others took over, then serves nothing", async () => {
  const clock = new FakeClock();
  const { cluster, a, b } = await twoInstances(clock);
  await using _a = a.membership;
  await using _b = b.membership;

  // A's acknowledgement of B's leave is held back: B must keep its share meanwhile.
  const ack = Promise.withResolvers<void>();
  a.store.ackGate = ack.promise;
  let handedOver = false;
  const handing = b.membership.handOver(60_000).then(() => (handedOver = true));
  await clock.tick(10);
  assert.equal(cluster.rows.get(B)?.leaving, true);
  assert.equal(a.served().size, SLOT_COUNT, "A serves every slot as soon as B leaves");
  assert.deepEqual(b.served(), slotsOf(B, [A, B]), "B keeps its share until A acknowledged");
  assert.equal(handedOver, false);
  assert.equal(b.membership.status().leaving, true);

  ack.resolve();
  await clock.tick(10);
  await handing;
  assert.equal(handedOver, true);
  assert.equal(b.served().size, 0);
  assert.equal(b.membership.status().servedSlots, 0);
  assert.equal(a.served().size, SLOT_COUNT);
  assertCovered([a], "after the hand-over");
  assert.equal(cluster.rows.get(B)?.view, 2, "a leaving instance acknowledges nothing more");
});

Deno.test("Membership.handOver() gives up after its timeout and serves nothing anyway", async () => {
  const clock = new FakeClock();
  const { a, b } = await twoInstances(clock);
  await using _a = a.membership;
  await using _b = b.membership;
  a.store.down = true; // A neither hears of the leave nor acknowledges it
  await b.membership.handOver(20);
  assert.equal(b.served().size, 0);
  assert.ok(
    b.logs.some((record) =>
      record.level === "warn" && /before the other instances/.test(record.msg)
    ),
  );
  a.store.down = false;
});

Deno.test("Membership: an instance that stops renewing is fenced before the others take over", async () => {
  const clock = new FakeClock();
  const { cluster, a, b } = await twoInstances(clock);
  await using _a = a.membership;
  await using _b = b.membership;
  const bLastRenewal = clock.now - 10; // B's last heartbeat was sent when it started
  b.store.down = true;

  let fencedAt: number | undefined;
  let takenOverAt: number | undefined;
  for (let step = 0; step < 200 && takenOverAt === undefined; step++) {
    await clock.tick(100);
    if (fencedAt === undefined && b.membership.status().fenced) fencedAt = clock.now;
    if (a.served().size === SLOT_COUNT) takenOverAt = clock.now;
    // No slot is served by both at any moment: B stops before A starts.
    if (takenOverAt !== undefined) assert.equal(b.served().size, 0);
  }
  assert.ok(fencedAt !== undefined && takenOverAt !== undefined);
  assert.ok(fencedAt <= bLastRenewal + FENCE_AT_MS + 100, `fenced at +${fencedAt - bLastRenewal}`);
  assert.ok(fencedAt < takenOverAt);
  assert.ok(takenOverAt > bLastRenewal + LEASE_MS, "A waits for B's lease to pass");
  assert.equal(cluster.rows.has(B), false, "A deleted B's row");
  assert.equal(a.membership.status().expiries, 1);
  assert.equal(a.membership.status().instances, 1);
  assert.ok(a.logs.some((record) => record.id === B && /lease passed/.test(record.msg)));
  assert.ok(b.logs.some((record) => record.level === "error" && /ran out/.test(record.msg)));

  // The database answers B again: it registers anew and takes its share back, make-before-break.
  b.store.down = false;
  await clock.tick(LEASE_MS / 3);
  assert.equal(b.membership.status().fenced, false);
  assert.equal(cluster.rows.has(B), true);
  assert.ok(b.logs.some((record) => /Registered again/.test(record.msg)));
  await clock.tick(10);
  assertPartitioned([a, b]);
});

Deno.test("Membership fences itself when its lease runs out unrenewed, and serves again once renewed", async () => {
  const clock = new FakeClock();
  const cluster = new FakeCluster(clock);
  const a = instance(cluster, A);
  await using _ = a.membership;
  const started = clock.now;
  await a.membership.start();
  a.store.down = true;

  await clock.tick(FENCE_AT_MS - 1);
  assert.ok(a.store.heartbeats >= 3, "heartbeats went on failing");
  assert.equal(a.membership.status().fenced, false);
  assert.equal(a.served().size, SLOT_COUNT, "within the lease it still serves");
  await clock.tick(1);
  assert.equal(clock.now, started + FENCE_AT_MS);
  assert.equal(a.membership.status().fenced, true);
  assert.equal(a.served().size, 0);
  assert.equal(a.membership.status().servedSlots, 0);
  const errors = a.logs.filter((record) => record.level === "error");
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.msg, /lease ran out without renewal/);

  // Heartbeats that keep failing leave it fenced.
  await clock.tick(LEASE_MS);
  assert.equal(a.membership.status().fenced, true);
  assert.equal(a.served().size, 0);

  a.store.down = false;
  await clock.tick(LEASE_MS / 3);
  assert.equal(a.membership.status().fenced, false);
  assert.equal(a.served().size, SLOT_COUNT);
  assert.ok(a.logs.some((record) => record.level === "info" && /serving again/.test(record.msg)));
});

Deno.test("Membership keeps its fence off while heartbeats renew the lease", async () => {
  const clock = new FakeClock();
  const cluster = new FakeCluster(clock);
  const a = instance(cluster, A);
  await using _ = a.membership;
  await a.membership.start();
  await clock.tick(10 * LEASE_MS);
  assert.equal(a.membership.status().fenced, false);
  assert.ok(a.serveCalls.every((slots) => slots.size === SLOT_COUNT));
  assert.deepEqual(a.logs.filter((record) => record.level !== "info"), []);
});

Deno.test("Membership disposal deregisters and stops the timers", async () => {
  const clock = new FakeClock();
  const { cluster, a, b } = await twoInstances(clock);
  await using _a = a.membership;
  await b.membership[Symbol.asyncDispose]();
  assert.equal(cluster.rows.has(B), false);
  const beats = b.store.heartbeats;
  await clock.tick(3 * LEASE_MS);
  assert.equal(b.store.heartbeats, beats, "no heartbeat after disposal");
  assert.equal(a.served().size, SLOT_COUNT, "the other takes the share over at once");
});

Deno.test("Membership: one heartbeat that times out does not fence the instance", async () => {
  const clock = new FakeClock();
  const cluster = new FakeCluster(clock);
  const a = instance(cluster, A);
  await using _ = a.membership;
  await a.membership.start();
  await clock.tick(0);
  // The next heartbeat takes a third of the lease, then fails (as one that timed out).
  const slow = Promise.withResolvers<never>();
  const heartbeat = a.store.heartbeat.bind(a.store);
  a.store.heartbeat = () => {
    a.store.heartbeat = heartbeat;
    return slow.promise;
  };
  await clock.tick(LEASE_MS / 3);
  await clock.tick(LEASE_MS / 3);
  slow.reject(new Error("Timed out"));
  // Past the fence of the last renewal: the retry must have come before it.
  await clock.tick(LEASE_MS / 3);
  assert.equal(a.membership.status().fenced, false);
  assert.deepEqual(a.logs.filter((record) => record.level === "error"), []);
  assert.ok(a.serveCalls.every((slots) => slots.size === SLOT_COUNT));
});

Deno.test("Membership.handOver() keeps its share through a heartbeat read before the leave committed", async () => {
  const clock = new FakeClock();
  const { a, b } = await twoInstances(clock);
  await using _a = a.membership;
  await using _b = b.membership;
  const commit = Promise.withResolvers<void>();
  const markLeaving = b.store.markLeaving.bind(b.store);
  b.store.markLeaving = (id) => commit.promise.then(() => markLeaving(id));
  let handedOver = false;
  const handing = b.membership.handOver(60_000).then(() => (handedOver = true));
  // A heartbeat of B while its leave is still being written: A does not know to take over.
  await clock.tick(LEASE_MS / 3);
  assertCovered([a, b], "while the leave is being written");
  assert.deepEqual(b.served(), slotsOf(B, [A, B]));
  assert.equal(handedOver, false);

  commit.resolve();
  await clock.tick(10);
  await handing;
  assert.equal(b.served().size, 0);
  assert.equal(a.served().size, SLOT_COUNT);
});

Deno.test("Membership.handOver() that cannot mark the instance leaving goes on serving its share", async () => {
  const clock = new FakeClock();
  const { a, b } = await twoInstances(clock);
  await using _a = a.membership;
  await using _b = b.membership;
  b.store.down = true; // B cannot reach the database: nobody would know to take over
  await b.membership.handOver(20);
  assert.deepEqual(b.served(), slotsOf(B, [A, B]), "B keeps serving until it stops");
  assert.equal(b.membership.status().leaving, false);
  assert.ok(b.logs.some((record) => /serving until it does/.test(record.msg)));
  b.store.down = false;
});

Deno.test("Membership acknowledges a gained share only once its subscriptions are confirmed", async () => {
  const clock = new FakeClock();
  const cluster = new FakeCluster(clock);
  const a = instance(cluster, A);
  await using _a = a.membership;
  await a.membership.start();
  // B's relays do not confirm its subscriptions at first.
  let subscribed = false;
  const store = cluster.store();
  const bServed: ReadonlySet<number>[] = [];
  const b = new Membership({
    store,
    self: { id: B, address: "127.0.0.1:8081", version: "test" },
    leaseMs: LEASE_MS,
    serve: (slots) => {
      bServed.push(slots);
      return Promise.resolve(subscribed);
    },
    log: () => {},
    now: () => cluster.clock.now,
    timers: cluster.clock,
  });
  await using _b = b;
  await b.start();
  await clock.tick(10);
  assert.deepEqual(bServed.at(-1), slotsOf(B, [A, B]), "B watches its share at once");
  assert.equal(cluster.rows.get(B)?.view, 0, "but does not acknowledge it");
  assert.equal(a.served().size, SLOT_COUNT, "so A keeps serving B's share");
  await clock.tick(LEASE_MS / 3);
  assert.equal(a.served().size, SLOT_COUNT, "still unconfirmed a heartbeat later");

  subscribed = true;
  await clock.tick(LEASE_MS / 3);
  await clock.tick(10);
  assert.equal(cluster.rows.get(B)?.view, 2, "confirmed: acknowledged");
  assert.deepEqual(a.served(), slotsOf(A, [A, B]), "and A let go of B's share");
});
