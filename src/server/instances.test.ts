import assert from "node:assert/strict";
import { TestApp } from "../../tests/helpers/app.ts";
import { emptyPostgresDatabase, skipWithoutPostgres } from "../../tests/helpers/db.ts";
import { ClusterStore } from "../cluster/store.ts";
import { DatabaseUnavailableError } from "../db/db.ts";
import { migrate } from "../db/migrate.ts";
import { openPostgres } from "../db/postgres.ts";
import { silentLog } from "../log.ts";
import { hostPort, instanceList, machineName } from "./instances.ts";

Deno.test("instanceList() without a cluster: one instance, one id per start, the address read late", async () => {
  let port = 0;
  const list = instanceList({
    version: "1.0.0",
    address: () => hostPort("keycast.internal", port),
    now: () => 1_000,
  });
  port = 8080;
  const first = await list();
  assert.equal(first.cluster, false);
  assert.equal(first.instances.length, 1);
  assert.deepEqual(first.instances[0], {
    id: first.self,
    address: "keycast.internal:8080",
    version: "1.0.0",
    startedAt: new Date(1_000),
    heartbeatAt: null,
    leaseUntil: null,
    leaving: false,
  });
  assert.equal((await list()).self, first.self);
  const other = await instanceList({ version: "1.0.0", address: () => "x:1" })();
  assert.notEqual(other.self, first.self, "a new start, a new id");
});

Deno.test("instanceList() with a cluster: a list that does not come in time is a 503", async () => {
  const never = instanceList({
    cluster: { id: "a".repeat(32), instances: () => new Promise(() => {}) },
    version: "1.0.0",
    address: () => "x:1",
    timeoutMs: 10,
  });
  await assert.rejects(never(), DatabaseUnavailableError);
});

Deno.test("hostPort() brackets an IPv6 host", () => {
  assert.equal(hostPort("127.0.0.1", 8080), "127.0.0.1:8080");
  assert.equal(hostPort("::", 8080), "[::]:8080");
  assert.equal(hostPort("[::1]", 80), "[::1]:80");
  assert.equal(hostPort("keycast-0", 80), "keycast-0:80");
});

Deno.test({
  name: "machineName() falls back without --allow-sys, and never prompts",
  permissions: { sys: false, env: false },
  fn() {
    assert.equal(machineName("0.0.0.0"), "0.0.0.0");
  },
});

Deno.test({
  name: "machineName() is the host name when the process may read it",
  permissions: { sys: ["hostname"] },
  fn() {
    assert.equal(machineName("0.0.0.0"), Deno.hostname());
  },
});

Deno.test("GET /api/instances lists the cluster's live rows from PostgreSQL", async () => {
  if (await skipWithoutPostgres()) return;
  await using database = await emptyPostgresDatabase();
  const db = openPostgres(database.url, { max: 2 });
  try {
    await migrate(db);
    await using store = await ClusterStore.open(database.url, silentLog);
    const [older, self, expired] = ["a", "b", "c"].map((c) => ({
      id: c.repeat(32),
      address: `keycast-${c}:8080`,
      version: "1.0.0",
    }));
    await store.join(older!, 60_000);
    await store.join(self!, 60_000);
    await store.join(expired!, -1_000); // its lease passed: no longer live
    await store.markLeaving(older!.id);
    await using app = await TestApp.create(db, {
      instances: instanceList({
        cluster: { id: self!.id, instances: () => store.instances() },
        version: "1.0.0",
        address: () => "unused:0",
      }),
    });
    const res = await app.json("GET", "/api/instances");
    assert.equal(res.status, 200);
    assert.equal(res.body.cluster, true);
    assert.equal(res.body.self, self!.id);
    assert.deepEqual(
      res.body.instances.map((i: { id: string; leaving: boolean; self: boolean }) => [
        i.id,
        i.leaving,
        i.self,
      ]),
      [[older!.id, true, false], [self!.id, false, true]],
    );
    const [first] = res.body.instances;
    assert.equal(first.address, "keycast-a:8080");
    for (const field of ["started_at", "heartbeat_at", "lease_until"]) {
      assert.match(first[field], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, field);
    }
    assert.ok(Date.parse(first.lease_until) > Date.parse(first.heartbeat_at));
  } finally {
    await db.close();
  }
});
