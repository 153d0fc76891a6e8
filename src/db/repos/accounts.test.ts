import assert from "node:assert/strict";
import { randomHex64 } from "../../../tests/helpers/fixtures.ts";
import { testEachDatabase } from "../../../tests/helpers/db.ts";
import { UniqueViolationError } from "../db.ts";
import { type NewAccount } from "./accounts.ts";
import { createRepos } from "./repos.ts";

const HOUR = 3_600_000;

function account(username: string): NewAccount {
  return { id: crypto.randomUUID(), username, email: null, passwordHash: "$h", role: "user" };
}

function key(name = "main") {
  return { id: crypto.randomUUID(), name, pubkey: randomHex64(), secretSealed: "sealed" };
}

testEachDatabase(
  "AccountsRepo.register stores the account with its key, names per owner",
  async (db) => {
    const repos = createRepos(db);
    const alice = await repos.accounts.register(account("alice"), { key: key("main") });
    const bob = await repos.accounts.register(account("bob"), { key: key("main") });
    assert.equal(alice.status, "registered");
    assert.equal(bob.status, "registered");
    if (alice.status !== "registered") return;
    assert.equal(
      (await repos.keys.getByName("main", alice.account.id))?.accountId,
      alice.account.id,
    );
    assert.equal(await repos.keys.getByName("main"), undefined, "not an operator key");
    assert.equal((await repos.keys.list(alice.account.id)).length, 1);
    assert.equal((await repos.keys.list(null)).length, 0);
    assert.equal(await repos.keys.countOf(alice.account.id), 1);
    await assert.rejects(
      repos.keys.create({ ...key("main"), accountId: alice.account.id }),
      UniqueViolationError,
    );
    assert.equal((await repos.accounts.getByLogin("ALICE"))?.id, alice.account.id);
    assert.deepEqual((await repos.accounts.list()).map((a) => [a.username, a.keyCount]), [
      ["alice", 1],
      ["bob", 1],
    ]);
  },
);

testEachDatabase(
  "AccountsRepo.register uses an invite once, and not at all when it fails",
  async (db) => {
    let now = 1_800_000_000_000;
    const repos = createRepos(db, { now: () => now });
    const codeHash = randomHex64();
    await repos.invites.create({
      id: crypto.randomUUID(),
      codeHash,
      role: "admin",
      createdBy: null,
      expiresAt: new Date(now + HOUR),
    });
    await repos.accounts.register(account("taken"));
    await assert.rejects(
      repos.accounts.register(account("taken"), { inviteHash: codeHash }),
      UniqueViolationError,
    );
    const first = await repos.accounts.register(account("carol"), { inviteHash: codeHash });
    assert.equal(first.status, "registered");
    assert.equal(first.status === "registered" && first.account.role, "admin", "the invite's role");
    assert.deepEqual(await repos.accounts.register(account("dave"), { inviteHash: codeHash }), {
      status: "bad-invite",
    });
    const [invite] = await repos.invites.list();
    assert.equal(invite?.usedByUsername, "carol");

    const late = randomHex64();
    await repos.invites.create({
      id: crypto.randomUUID(),
      codeHash: late,
      role: "user",
      createdBy: null,
      expiresAt: new Date(now + HOUR),
    });
    now += HOUR;
    assert.deepEqual(await repos.accounts.register(account("erin"), { inviteHash: late }), {
      status: "bad-invite",
    });
    assert.equal(await repos.accounts.getByLogin("erin"), undefined);
  },
);

testEachDatabase(
  "SessionsRepo ends a session when it expires, idles out or its account is disabled",
  async (db) => {
    let now = 1_800_000_000_000;
    const repos = createRepos(db, { now: () => now });
    const registered = await repos.accounts.register(account("alice"));
    assert.equal(registered.status, "registered");
    const accountId = registered.status === "registered" ? registered.account.id : "";
    const [a, b, c] = [randomHex64(), randomHex64(), randomHex64()];
    for (const idHash of [a, b, c]) {
      await repos.sessions.create({
        idHash,
        accountId,
        expiresAt: new Date(now + 30 * 24 * HOUR),
        userAgent: null,
      });
    }
    const idle = 7 * 24 * HOUR;
    assert.equal((await repos.sessions.getLive(a, idle))?.account.username, "alice");
    now += 6 * 24 * HOUR;
    await repos.sessions.touch(a);
    now += 2 * 24 * HOUR;
    assert.ok(await repos.sessions.getLive(a, idle), "used within the idle time");
    assert.equal(await repos.sessions.getLive(b, idle), undefined, "idle for 8 days");
    assert.equal(await repos.sessions.prune(idle), 2);
    now += 23 * 24 * HOUR;
    assert.equal(await repos.sessions.getLive(a, idle * 10), undefined, "past its absolute end");

    now -= 23 * 24 * HOUR;
    await repos.sessions.touch(a);
    await repos.accounts.setDisabled(accountId, true);
    assert.equal(await repos.sessions.getLive(a, idle), undefined, "the account is disabled");
    await repos.accounts.setDisabled(accountId, false);
    assert.ok(await repos.sessions.getLive(a, idle));
    assert.equal(await repos.sessions.deleteAllOf(accountId, a), 0);
    assert.equal(await repos.sessions.deleteAllOf(accountId), 1);
  },
);
