import assert from "node:assert/strict";
import { TestApp } from "../../tests/helpers/app.ts";
import { sqliteTestDb } from "../../tests/helpers/db.ts";
import type { InstanceRow } from "../cluster/store.ts";
import { instanceList } from "../server/instances.ts";

const SELF = "b".repeat(32);

/** Two live cluster instances: an older one handing over, and this one. */
const ROWS: InstanceRow[] = [
  {
    id: "a".repeat(32),
    address: "keycast-0:8080",
    version: "1.1.0",
    startedAt: new Date("2026-01-01T10:00:00Z"),
    heartbeatAt: new Date("2026-01-01T12:00:00Z"),
    leaseUntil: new Date("2026-01-01T12:00:10Z"),
    view: 7,
    leaving: true,
  },
  {
    id: SELF,
    address: "keycast-1:8080",
    version: "1.2.0",
    startedAt: new Date("2026-01-01T11:00:00Z"),
    heartbeatAt: new Date("2026-01-01T12:00:01Z"),
    leaseUntil: new Date("2026-01-01T12:00:11Z"),
    view: 7,
    leaving: false,
  },
];

Deno.test("GET /api/instances needs admin authentication", async () => {
  await using db = await sqliteTestDb();
  await using app = await TestApp.create(db);
  const anonymous = await app.json("GET", "/api/instances", undefined, {});
  assert.equal(anonymous.status, 401);
  const wrong = await app.json("GET", "/api/instances", undefined, {
    authorization: "Bearer not-the-token",
  });
  assert.equal(wrong.status, 401);
  assert.equal((await app.json("GET", "/api/instances")).status, 200);
  const nip98 = await app.json("GET", "/api/instances", undefined, {
    authorization: app.nip98("GET", "/api/instances"),
  });
  assert.equal(nip98.status, 200);
});

Deno.test("GET /api/instances without --cluster lists this instance alone", async () => {
  await using db = await sqliteTestDb();
  const startedAt = Date.parse("2026-02-03T04:05:06.789Z");
  await using app = await TestApp.create(db, {
    instances: instanceList({
      version: "9.9.9",
      address: () => "signer.internal:8080",
      now: () => startedAt,
    }),
  });
  const res = await app.json("GET", "/api/instances");
  assert.equal(res.status, 200);
  const id = res.body.self;
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.deepEqual(res.body, {
    cluster: false,
    self: id,
    instances: [{
      id,
      address: "signer.internal:8080",
      version: "9.9.9",
      started_at: "2026-02-03T04:05:06.789Z",
      heartbeat_at: null,
      lease_until: null,
      leaving: false,
      self: true,
    }],
  });
  assert.equal((await app.json("GET", "/api/instances")).body.self, id, "one id per start");
});

Deno.test("GET /api/instances with --cluster lists the live instances and marks this one", async () => {
  await using db = await sqliteTestDb();
  await using app = await TestApp.create(db, {
    instances: instanceList({
      cluster: { id: SELF, instances: () => Promise.resolve(ROWS) },
      version: "unused",
      address: () => "unused:0",
    }),
  });
  const res = await app.json("GET", "/api/instances");
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, {
    cluster: true,
    self: SELF,
    instances: [
      {
        id: "a".repeat(32),
        address: "keycast-0:8080",
        version: "1.1.0",
        started_at: "2026-01-01T10:00:00.000Z",
        heartbeat_at: "2026-01-01T12:00:00.000Z",
        lease_until: "2026-01-01T12:00:10.000Z",
        leaving: true,
        self: false,
      },
      {
        id: SELF,
        address: "keycast-1:8080",
        version: "1.2.0",
        started_at: "2026-01-01T11:00:00.000Z",
        heartbeat_at: "2026-01-01T12:00:01.000Z",
        lease_until: "2026-01-01T12:00:11.000Z",
        leaving: false,
        self: true,
      },
    ],
  });
});

Deno.test("GET /api/instances answers 503 when the cluster's list cannot be read", async () => {
  await using db = await sqliteTestDb();
  await using app = await TestApp.create(db, {
    instances: instanceList({
      cluster: {
        id: SELF,
        instances: () => Promise.reject(new Error("connect ECONNREFUSED postgres://secret@db")),
      },
      version: "unused",
      address: () => "unused:0",
    }),
  });
  const res = await app.json("GET", "/api/instances");
  assert.equal(res.status, 503);
  assert.equal(res.body.error, "The database is unavailable; retry later");
  assert.equal(res.headers.get("retry-after"), "5");
  assert.ok(!JSON.stringify(res.body).includes("secret"));
});
