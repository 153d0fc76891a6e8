import assert from "node:assert/strict";
import { TestApp } from "../../tests/helpers/app.ts";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import { insertAuthorization, insertKey } from "../../tests/helpers/fixtures.ts";

testEachDatabase("GET /api/audit filters by authorization, time and id", async (db, t) => {
  await using app = await TestApp.create(db);
  const key = await insertKey(db, "alice");
  const auth = await insertAuthorization(db, key.id);
  const base = {
    clientPubkey: "c".repeat(64),
    eventKind: 1,
    eventId: "e".repeat(64),
    latencyMs: 2,
  };
  await app.repos.audit.insertMany([
    {
      ...base,
      at: new Date(Date.now() - 7_200_000),
      authorizationId: auth.id,
      method: "sign_event",
      decision: "allow",
      reason: null,
    },
    {
      ...base,
      at: new Date(),
      authorizationId: auth.id,
      method: "sign_event",
      decision: "deny",
      reason: "forbidden: kind 0",
    },
    {
      ...base,
      at: new Date(),
      authorizationId: null,
      method: "ping",
      decision: "allow",
      reason: null,
    },
  ]);

  await t.step("all rows, oldest first, in the documented shape", async () => {
    const res = await app.json("GET", "/api/audit");
    assert.equal(res.status, 200);
    assert.equal(res.body.entries.length, 3);
    assert.deepEqual(Object.keys(res.body.entries[0]).sort(), [
      "at",
      "authorization_id",
      "client_pubkey",
      "decision",
      "event_id",
      "event_kind",
      "id",
      "latency_ms",
      "method",
      "reason",
      "transport",
    ]);
    assert.equal(res.body.entries[0].transport, "nip46");
  });

  await t.step("by authorization and since", async () => {
    const res = await app.json("GET", `/api/audit?authorization=${auth.id}&since=1h`);
    assert.deepEqual(res.body.entries.map((e: { decision: string }) => e.decision), ["deny"]);
    assert.equal(res.body.entries[0].reason, "forbidden: kind 0");
  });

  await t.step("after_id and limit page through", async () => {
    const first = await app.json("GET", "/api/audit?limit=1");
    const next = await app.json("GET", `/api/audit?after_id=${first.body.entries[0].id}&limit=10`);
    assert.equal(next.body.entries.length, 2);
  });

  await t.step("bad parameters are 400 naming the field", async () => {
    for (
      const [query, field] of [
        ["authorization=../../etc", "authorization"],
        ["since=yesterday", "since"],
        ["limit=0", "limit"],
        ["after_id=x", "after_id"],
        ["bogus=1", "bogus"],
      ]
    ) {
      const res = await app.json("GET", `/api/audit?${query}`);
      assert.equal(res.status, 400, query!);
      assert.ok(res.body.error.includes(field!), res.body.error);
    }
  });

  await t.step("a since the databases cannot store is 400 naming the field", async () => {
    for (
      const since of [
        "-271821-04-20T00:00:00Z",
        "+275760-09-13T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "+010000-01-01T00:00:00Z",
      ]
    ) {
      const res = await app.json("GET", `/api/audit?since=${encodeURIComponent(since)}`);
      assert.equal(res.status, 400, since);
      assert.equal(res.body.field, "since");
      assert.match(res.body.error, /^since: ".*" is not a time from the year 2000 to 9999$/);
    }
    const edge = await app.json("GET", "/api/audit?since=2000-01-01T00:00:00Z");
    assert.equal(edge.status, 200);
    assert.equal(edge.body.entries.length, 3);
  });

  await t.step("requires admin auth", async () => {
    const res = await app.app.request("/api/audit");
    assert.equal(res.status, 401);
  });
});
