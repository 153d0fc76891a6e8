import assert from "node:assert/strict";
import { sha256Hex } from "../util/hex.ts";
import postgres from "postgres";
import { migratedPostgresDatabase, skipWithoutPostgres } from "../../tests/helpers/db.ts";
import { eventually } from "../../tests/helpers/eventually.ts";
import { silentLog } from "../log.ts";
import {
  AUTHORIZATIONS_CHANNEL,
  ClusterStore,
  type InstanceIdentity,
  MEMBERSHIP_CHANNEL,
} from "./store.ts";

const A: InstanceIdentity = { id: "a".repeat(32), address: "10.0.0.1:8080", version: "1.2.3" };
const B: InstanceIdentity = { id: "b".repeat(32), address: "10.0.0.2:8080", version: "1.2.3" };
const C: InstanceIdentity = { id: "c".repeat(32), address: "10.0.0.3:8080", version: "1.2.3" };
const LEASE_MS = 60_000;

const REQUEST = { bunkerPubkey: "1".repeat(64), clientPubkey: "2".repeat(64), requestId: "r1" };

/**
 * Registers `fn` against a store on a fresh, migrated PostgreSQL database, with a plain client
 * (`sql`) to look at and change the tables. Skipped with a printed reason without PostgreSQL,
 * except under `CI=true`.
 */
function testWithStore(
  name: string,
  fn: (store: ClusterStore, sql: postgres.Sql) => Promise<void>,
): void {
  Deno.test(name, async () => {
    if (await skipWithoutPostgres()) return;
    await using database = await migratedPostgresDatabase();
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      await using store = await ClusterStore.open(database.url, silentLog);
      await fn(store, sql);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
}

async function generationOf(sql: postgres.Sql): Promise<number> {
  const [row] = await sql`select generation from cluster_state where id = 1`;
  return Number(row?.generation);
}

testWithStore(
  "ClusterStore: join and heartbeat list the instances and raise the generation",
  async (store, sql) => {
    await store.join(A, LEASE_MS);
    const first = await store.heartbeat(A, LEASE_MS);
    assert.equal(first.generation, 1);
    assert.equal(first.rejoined, false);
    assert.deepEqual(first.expired, []);
    assert.equal(first.instances.length, 1);
    const [a] = first.instances;
    assert.equal(a!.id, A.id);
    assert.equal(a!.address, A.address);
    assert.equal(a!.version, A.version);
    assert.equal(a!.view, 0);
    assert.equal(a!.leaving, false);
    const leaseMs = a!.leaseUntil.getTime() - a!.heartbeatAt.getTime();
    assert.ok(Math.abs(leaseMs - LEASE_MS) < 5, `lease of ${leaseMs} ms`);

    await store.join(B, LEASE_MS);
    const second = await store.heartbeat(A, LEASE_MS);
    assert.equal(second.generation, 2);
    assert.deepEqual(second.instances.map((row) => row.id), [A.id, B.id], "oldest first");
    assert.equal(await generationOf(sql), 2, "a plain renewal raises nothing");
    assert.deepEqual((await store.instances()).map((row) => row.id), [A.id, B.id]);
  },
);

testWithStore(
  "ClusterStore: a heartbeat deletes an instance whose lease passed, and raises the generation",
  async (store, sql) => {
    await store.join(A, LEASE_MS);
    await store.join(B, LEASE_MS);
    await sql`update instances set lease_until = now() - interval '1 second' where id = ${B.id}`;
    assert.deepEqual((await store.instances()).map((row) => row.id), [A.id], "B is dead to others");
    const beat = await store.heartbeat(A, LEASE_MS);
    assert.deepEqual(beat.expired, [B.id]);
    assert.equal(beat.generation, 3);
    assert.deepEqual(beat.instances.map((row) => row.id), [A.id]);
    const again = await store.heartbeat(A, LEASE_MS);
    assert.deepEqual(again.expired, []);
    assert.equal(again.generation, 3);
  },
);

testWithStore(
  "ClusterStore: the heartbeat of a deleted instance registers it again",
  async (store) => {
    await store.join(A, LEASE_MS);
    await store.join(B, LEASE_MS);
    await store.acknowledge(A.id, 2);
    await store.leave(A.id);
    const beat = await store.heartbeat(A, LEASE_MS);
    assert.equal(beat.rejoined, true);
    assert.equal(beat.generation, 4, "join, join, leave, join again");
    const a = beat.instances.find((row) => row.id === A.id);
    assert.equal(a?.view, 0, "registered anew: it has acknowledged nothing");
    assert.equal((await store.heartbeat(A, LEASE_MS)).rejoined, false);
  },
);

testWithStore("ClusterStore: acknowledge() raises the view and never lowers it", async (store) => {
  await store.join(A, LEASE_MS);
  await store.acknowledge(A.id, 5);
  await store.acknowledge(A.id, 3);
  const [a] = (await store.heartbeat(A, LEASE_MS)).instances;
  assert.equal(a?.view, 5);
});

testWithStore(
  "ClusterStore: markLeaving() and leave() raise the generation; leaving an unknown id does not",
  async (store) => {
    await store.join(A, LEASE_MS);
    await store.join(B, LEASE_MS);
    await store.markLeaving(B.id);
    const marked = await store.heartbeat(A, LEASE_MS);
    assert.equal(marked.generation, 3);
    assert.equal(marked.instances.find((row) => row.id === B.id)?.leaving, true);
    await store.leave(B.id);
    await store.leave(C.id);
    const left = await store.heartbeat(A, LEASE_MS);
    assert.equal(left.generation, 4);
    assert.deepEqual(left.instances.map((row) => row.id), [A.id]);
  },
);

testWithStore(
  "ClusterStore.claim(): one instance answers a request; another request is free",
  async (store, sql) => {
    assert.equal(await store.claim(REQUEST, A.id, LEASE_MS), true);
    assert.equal(await store.claim(REQUEST, B.id, LEASE_MS), false);
    // The same instance may claim again (a retry after a timed-out claim or `overloaded:`).
    assert.equal(await store.claim(REQUEST, A.id, LEASE_MS), true, "its own claim");
    assert.equal(await store.claim(REQUEST, B.id, LEASE_MS), false);
    assert.equal(await store.claim({ ...REQUEST, requestId: "r2" }, B.id, LEASE_MS), true);
    assert.equal(
      await store.claim({ ...REQUEST, clientPubkey: "3".repeat(64) }, B.id, LEASE_MS),
      true,
    );

    // An expired claim is taken over.
    await sql`update request_claims set expires_at = now() - interval '1 second'
    where request_hash = ${await sha256Hex("r1")} and client_pubkey = ${REQUEST.clientPubkey}`;
    assert.equal(await store.claim(REQUEST, B.id, LEASE_MS), true);
    const [row] = await sql`select instance_id from request_claims
    where request_hash = ${await sha256Hex("r1")} and client_pubkey = ${REQUEST.clientPubkey}`;
    assert.equal(row?.instance_id, B.id);

    // Any text is an id: kept as its digest, two ids never meet.
    for (const requestId of ["x\u0000y", "\ud800", "\udc00", "é".repeat(128)]) {
      assert.equal(await store.claim({ ...REQUEST, requestId }, A.id, LEASE_MS), true, requestId);
      assert.equal(await store.claim({ ...REQUEST, requestId }, B.id, LEASE_MS), false, requestId);
    }
  },
);

testWithStore(
  "ClusterStore.take(): a bucket allows its burst, then says how long to wait",
  async (store) => {
    const bucket = { key: "auth:c:client", perMinute: 60, burst: 2 };
    assert.equal(await store.take([bucket]), undefined);
    assert.equal(await store.take([bucket]), undefined);
    const refused = await store.take([bucket]);
    assert.equal(refused?.key, bucket.key);
    const waitMs = refused?.waitMs ?? 0;
    assert.ok(waitMs > 0 && waitMs <= 1_000, `wait ${waitMs} ms for one token at 60 a minute`);
    assert.equal(await store.take([]), undefined, "nothing to charge");
  },
);

testWithStore(
  "ClusterStore.take(): a refused take of several buckets drains none of them",
  async (store, sql) => {
    const wide = { key: "auth:c:client", perMinute: 1, burst: 5 };
    const narrow = { key: "auth:m:client:sign_event", perMinute: 1, burst: 1 };
    assert.equal(await store.take([wide, narrow]), undefined);
    const refused = await store.take([wide, narrow]);
    assert.equal(refused?.key, narrow.key, "the narrow bucket refused");
    const waitMs = refused?.waitMs ?? 0;
    assert.ok(waitMs > 50_000, `wait ${waitMs} ms for one token at 1 a minute`);
    const [row] = await sql`select tokens from rate_buckets where key = ${wide.key}`;
    assert.ok(Number(row?.tokens) < 4.1, `the wide bucket holds ${row?.tokens} tokens`);
    // The wide bucket still holds its 4 tokens: the refused take gave its token back.
    for (let i = 0; i < 4; i++) {
      assert.equal(await store.take([wide]), undefined, `token ${i + 2}`);
    }
    assert.equal((await store.take([wide]))?.key, wide.key);
  },
);

testWithStore(
  "ClusterStore.prune() deletes expired claims and buckets full again only",
  async (store, sql) => {
    assert.equal(await store.claim(REQUEST, A.id, LEASE_MS), true);
    assert.equal(await store.claim({ ...REQUEST, requestId: "r2" }, A.id, LEASE_MS), true);
    await sql`update request_claims set expires_at = now() - interval '1 second'
    where request_hash = ${await sha256Hex("r1")}`;
    await store.take([{ key: "idle", perMinute: 60, burst: 60 }]);
    await store.take([{ key: "busy", perMinute: 60, burst: 60 }]);
    // A slow bucket (1 a minute, 100 at once) taken 2 hours ago is not full again yet: kept.
    await store.take([{ key: "slow", perMinute: 1, burst: 100 }]);
    const [slow] = await sql`select full_at - updated_at as left from rate_buckets
    where key = 'slow'`;
    assert.equal(String(slow?.left), "00:01:00", "one token taken: full a minute later");
    await sql`update rate_buckets set tokens = 0, full_at = updated_at + interval '100 minutes'
    where key = 'slow'`;
    await sql`update rate_buckets set updated_at = updated_at - interval '2 hours',
    full_at = full_at - interval '2 hours' where key in ('idle')`;

    assert.equal(await store.prune(1_000), 2);
    const claims = await sql`select request_hash from request_claims`;
    assert.deepEqual(claims.map((row) => row.request_hash), [await sha256Hex("r2")]);
    const buckets = await sql`select key from rate_buckets order by key`;
    assert.deepEqual(buckets.map((row) => row.key), ["busy", "slow"]);
    assert.equal(await store.claim(REQUEST, B.id, LEASE_MS), true, "a pruned claim is free");
    assert.equal(await store.prune(1_000), 0);
  },
);

testWithStore("ClusterStore: listen() hears the membership changes", async (store) => {
  const heard: string[] = [];
  let connects = 0;
  await store.listen(MEMBERSHIP_CHANNEL, (payload) => heard.push(payload), () => connects++);
  assert.equal(connects, 1);
  await store.join(A, LEASE_MS);
  await store.acknowledge(A.id, 1);
  await store.acknowledge(A.id, 1); // already acknowledged: no notice
  await store.markLeaving(A.id);
  await store.leave(A.id);
  await eventually("every notice arrived", () => heard.length === 4, { timeoutMs: 5_000 });
  assert.deepEqual(heard, [`${A.id} join`, `${A.id} ack`, `${A.id} leave`, `${A.id} leave`]);
});

testWithStore(
  "ClusterStore.announce() numbers the change notices, and heartbeats count them",
  async (store) => {
    const heard: string[] = [];
    await store.listen(AUTHORIZATIONS_CHANNEL, (payload) => heard.push(payload), () => {});
    await store.join(A, LEASE_MS);
    assert.equal((await store.heartbeat(A, LEASE_MS)).changes, 0);
    await store.announce(A.id, `b ${"b".repeat(64)}`);
    await store.announce(B.id, "p notes and more");
    await eventually("both notices arrived", () => heard.length === 2, { timeoutMs: 5_000 });
    assert.deepEqual(heard, [`${A.id} 1 b ${"b".repeat(64)}`, `${B.id} 2 p notes and more`]);
    assert.equal((await store.heartbeat(A, LEASE_MS)).changes, 2);
  },
);
