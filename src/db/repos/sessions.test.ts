import assert from "node:assert/strict";
import { testEachDatabase } from "../../../tests/helpers/db.ts";
import { randomHex64 } from "../../../tests/helpers/fixtures.ts";
import { createRepos } from "./repos.ts";

const MINUTE = 60_000;

testEachDatabase(
  "SessionsRepo.keepNewest ends an account's sessions past the cap, least recently used first",
  async (db) => {
    let now = 1_800_000_000_000;
    const repos = createRepos(db, { now: () => now });
    const accountIds: string[] = [];
    for (const username of ["alice", "bob"]) {
      const id = crypto.randomUUID();
      await repos.accounts.register({
        id,
        username,
        email: null,
        passwordHash: "$h",
        role: "user",
      });
      accountIds.push(id);
    }
    const [alice, bob] = accountIds as [string, string];
    const start = async (accountId: string, expiresInMs = 60 * MINUTE) => {
      const idHash = randomHex64();
      await repos.sessions.create({
        idHash,
        accountId,
        expiresAt: new Date(now + expiresInMs),
        userAgent: null,
      });
      now += MINUTE;
      return idHash;
    };
    const a = await start(alice);
    const b = await start(alice);
    const c = await start(alice, 2 * MINUTE); // expires before the end
    const d = await start(alice);
    await start(bob);
    await start(bob);
    await repos.sessions.touch(a); // now the most recently used
    const e = await start(alice);
    now += MINUTE; // c has expired

    assert.equal(await repos.sessions.keepNewest(alice, 3, e), 2);
    const left = (await repos.sessions.listByAccount(alice)).map((s) => s.idHash);
    assert.deepEqual(new Set(left), new Set([e, a, d]), "b was the least recently used");
    assert.ok(!left.includes(b) && !left.includes(c));
    assert.equal((await repos.sessions.listByAccount(bob)).length, 2, "bob's untouched");
    assert.equal(await repos.sessions.keepNewest(alice, 3, e), 0);
    assert.equal(await repos.sessions.keepNewest(alice, 1, e), 2);
    assert.deepEqual((await repos.sessions.listByAccount(alice)).map((s) => s.idHash), [e]);
  },
);
