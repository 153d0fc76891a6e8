import assert from "node:assert/strict";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import { createRepos } from "../db/repos/repos.ts";
import type { AuditEntry } from "../db/repos/audit.ts";
import { silentLog } from "../log.ts";
import { Maintenance } from "./maintenance.ts";

const DAY = 86_400_000;

function entries(count: number, at: number): AuditEntry[] {
  return Array.from({ length: count }, (_, i) => ({
    at: new Date(at + i),
    authorizationId: null,
    clientPubkey: null,
    method: "ping",
    eventKind: null,
    eventId: null,
    decision: "allow" as const,
    reason: null,
    latencyMs: 1,
  }));
}

testEachDatabase(
  "Maintenance prunes audit rows and account events past the retention, expired replays and idle sessions",
  async (db) => {
    const now = 1_900_000_000_000;
    const repos = createRepos(db, { now: () => now });
    await repos.audit.insertMany(entries(2_500, now - 100 * DAY));
    await repos.audit.insertMany(entries(3, now - 10 * DAY));
    await repos.nip98Replays.remember("a".repeat(64), now - 1);
    await repos.nip98Replays.remember("b".repeat(64), now + 60_000);
    let clock = now - 100 * DAY;
    const old = createRepos(db, { now: () => clock });
    const registered = await old.accounts.register({
      id: crypto.randomUUID(),
      username: "alice",
      email: null,
      passwordHash: "$h",
      role: "user",
    });
    const accountId = registered.status === "registered" ? registered.account.id : "";
    await old.accountEvents.add({ accountId, action: "login" });
    await old.sessions.create({
      idHash: "c".repeat(64),
      accountId,
      expiresAt: new Date(now + DAY),
      userAgent: null,
    });
    const key = await old.keys.create({
      id: crypto.randomUUID(),
      name: "main",
      pubkey: "e".repeat(64),
      secretSealed: "sealed",
      accountId,
    });
    await old.oauth.createCode({
      codeHash: "d".repeat(64),
      clientId: "app",
      redirectUri: "https://app.example/cb",
      accountId,
      keyId: key.id,
      policyName: "social",
      codeChallenge: "x".repeat(43),
      expiresAt: new Date(now - 1_000),
    });
    clock = now;
    await old.accountEvents.add({ accountId, action: "login" });
    await using maintenance = new Maintenance({
      repos,
      log: silentLog,
      auditRetentionSeconds: 90 * 86_400,
      sessionIdleMs: 7 * DAY,
      batchPauseMs: 0,
      now: () => now,
    });
    assert.deepEqual(await maintenance.runOnce(), {
      auditRows: 2_500,
      replayIds: 1,
      accountEvents: 1,
      sessions: 1,
      oauth: 1,
    });
    assert.equal((await repos.audit.query({ limit: 1000 })).length, 3);
    assert.equal((await repos.accountEvents.list(accountId)).length, 1);
    assert.equal(await repos.nip98Replays.remember("b".repeat(64), now + 60_000), "replay");
    assert.deepEqual(await maintenance.runOnce(), {
      auditRows: 0,
      replayIds: 0,
      accountEvents: 0,
      sessions: 0,
      oauth: 0,
    });
  },
);

testEachDatabase("Maintenance keeps every audit row when retention is off", async (db) => {
  const now = 1_900_000_000_000;
  const repos = createRepos(db, { now: () => now });
  await repos.audit.insertMany(entries(5, now - 1_000 * DAY));
  await using maintenance = new Maintenance({
    repos,
    log: silentLog,
    auditRetentionSeconds: null,
    now: () => now,
  });
  assert.deepEqual(await maintenance.runOnce(), {
    auditRows: 0,
    replayIds: 0,
    accountEvents: 0,
    sessions: 0,
    oauth: 0,
  });
  assert.equal((await repos.audit.query({})).length, 5);
});
