import assert from "node:assert/strict";
import { TestApp } from "../../tests/helpers/app.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";

testEachDatabase("GET /health reports status, version, database, signer and relays", async (db) => {
  await using t = await TestApp.create(db, { version: "9.9.9" });
  Object.assign(t.status, {
    loadedAuthorizations: 3,
    pendingCommands: 1,
    workers: 2,
    queueDepth: 4,
  });
  const res = await t.json("GET", "/health", undefined, {});
  assert.equal(res.status, 200);
  assert.deepEqual(res.body, {
    status: "ok",
    version: "9.9.9",
    database: "ok",
    signer: { loaded_authorizations: 3, pending_commands: 1, workers: 2, queue_depth: 4 },
    relays: [{ url: "ws://127.0.0.1:7777", connected: true, subscribed: true }],
  });
  assert.ok(res.headers.get("x-request-id"));
});

testEachDatabase(
  "GET /health stays 200 with database error when the database is down",
  async (db) => {
    await using t = await TestApp.create(db);
    t.db.ping = () => Promise.resolve(false);
    const res = await t.json("GET", "/health", undefined, {});
    assert.equal(res.status, 200);
    assert.equal(res.body.status, "ok");
    assert.equal(res.body.database, "error");
  },
);

testEachDatabase("GET /health/ready is 503 until the signer is ready, then 200", async (db) => {
  await using t = await TestApp.create(db);
  t.status.ready = false;
  let res = await t.json("GET", "/health/ready", undefined, {});
  assert.equal(res.status, 503);
  assert.equal(res.body.status, "not_ready");
  assert.equal(res.body.database, "ok");
  t.status.ready = true;
  res = await t.json("GET", "/health/ready", undefined, {});
  assert.equal(res.status, 200);
  assert.equal(res.body.status, "ok");
});

testEachDatabase("GET /health/ready is 503 when the database does not answer", async (db) => {
  await using t = await TestApp.create(db);
  t.db.ping = () => Promise.resolve(false);
  const res = await t.json("GET", "/health/ready", undefined, {});
  assert.equal(res.status, 503);
  assert.equal(res.body.database, "error");
});

testEachDatabase(
  "GET /health survives a throwing status callback and reports not ready",
  async (db) => {
    const logged: string[] = [];
    await using t = await TestApp.create(db, { log: (r) => logged.push(r.msg) });
    Object.defineProperty(t.status, "relays", {
      get() {
        throw new Error("listener gone");
      },
    });
    let res = await t.json("GET", "/health", undefined, {});
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.relays, []);
    res = await t.json("GET", "/health/ready", undefined, {});
    assert.equal(res.status, 503);
    assert.ok(logged.includes("Cannot read the signer status"));
  },
);
