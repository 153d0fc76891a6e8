import assert from "node:assert/strict";
import { testEachDatabase } from "../../../tests/helpers/db.ts";
import { insertAuthorization, insertKey } from "../../../tests/helpers/fixtures.ts";
import { type AuditEntry, AuditRepo } from "./audit.ts";

function entry(overrides: Partial<AuditEntry>): AuditEntry {
  return {
    at: new Date(),
    authorizationId: null,
    clientPubkey: "c".repeat(64),
    method: "sign_event",
    eventKind: 1,
    eventId: "e".repeat(64),
    decision: "allow",
    reason: null,
    latencyMs: 1.5,
    ...overrides,
  };
}

testEachDatabase(
  "AuditRepo writes a batch and filters by authorization, time and id",
  async (db) => {
    const audit = new AuditRepo(db);
    const key = await insertKey(db, "alice");
    const auth = await insertAuthorization(db, key.id);
    const old = new Date(Date.now() - 3_600_000);
    await audit.insertMany([
      entry({ authorizationId: auth.id, at: old }),
      entry({
        authorizationId: auth.id,
        decision: "deny",
        reason: "forbidden: kind 0",
        method: "sign_event",
        eventKind: 0,
      }),
      entry({ method: "ping", eventKind: null, eventId: null }),
    ]);
    assert.equal((await audit.query()).length, 3);
    const forAuth = await audit.query({ authorizationId: auth.id });
    assert.deepEqual(forAuth.map((r) => r.decision), ["allow", "deny"]);
    assert.equal(forAuth[1]?.reason, "forbidden: kind 0");
    assert.equal(forAuth[0]?.latencyMs, 1.5);
    assert.equal((await audit.query({ since: new Date(Date.now() - 60_000) })).length, 2);
    assert.equal((await audit.query({ afterId: forAuth[0]!.id })).length, 2);
    assert.equal((await audit.query({ limit: 1 })).length, 1);
  },
);

testEachDatabase("AuditRepo.query() orders by row id numerically past ten rows", async (db) => {
  const audit = new AuditRepo(db);
  const methods = Array.from({ length: 12 }, (_, i) => `m${i}`);
  for (const method of methods) await audit.insertMany([entry({ method })]);
  assert.deepEqual((await audit.query()).map((r) => r.method), methods);
});

testEachDatabase("AuditRepo.latest() is newest first and filters by decision", async (db) => {
  const audit = new AuditRepo(db);
  const key = await insertKey(db, "bob");
  const auth = await insertAuthorization(db, key.id);
  await audit.insertMany([
    entry({ authorizationId: auth.id, method: "connect", eventKind: null }),
    entry({ authorizationId: auth.id, decision: "deny", reason: "forbidden: kind 0" }),
    entry({ authorizationId: auth.id, method: "ping", eventKind: null }),
  ]);
  const all = await audit.latest({ authorizationId: auth.id });
  assert.deepEqual(all.map((row) => row.method), ["ping", "sign_event", "connect"]);
  const denied = await audit.latest({ authorizationId: auth.id, decision: "deny" });
  assert.deepEqual(denied.map((row) => row.reason), ["forbidden: kind 0"]);
  assert.equal((await audit.latest({ decision: "allow", limit: 1 })).length, 1);
});

testEachDatabase("AuditRepo keeps each row's transport, nip46 unless given", async (db) => {
  const audit = new AuditRepo(db);
  await audit.insertMany([
    entry({ method: "ping" }),
    entry({ method: "sign_event", transport: "http", clientPubkey: "http:grant-1" }),
  ]);
  const rows = await audit.query();
  assert.deepEqual(rows.map((row) => [row.method, row.transport, row.clientPubkey]), [
    ["ping", "nip46", "c".repeat(64)],
    ["sign_event", "http", "http:grant-1"],
  ]);
  assert.deepEqual((await audit.latest({})).map((row) => row.transport), ["http", "nip46"]);
});
