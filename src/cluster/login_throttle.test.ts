import assert from "node:assert/strict";
import { migratedPostgresDatabase, skipWithoutPostgres } from "../../tests/helpers/db.ts";
import type { ThrottleLimits } from "../accounts/throttle.ts";
import { silentLog } from "../log.ts";
import { DatabaseLoginThrottle } from "./login_throttle.ts";
import { ClusterStore } from "./store.ts";

/** Small limits: 2 free failures then 60 s; 1 free registration; 5 hashes a minute per address. */
const LIMITS: Partial<ThrottleLimits> = {
  account: { free: 2, baseMs: 60_000, maxMs: 600_000, forgetMs: 3_600_000 },
  address: { free: 100, baseMs: 60_000, maxMs: 600_000, forgetMs: 3_600_000 },
  registration: { free: 1, baseMs: 60_000, maxMs: 600_000, forgetMs: 3_600_000 },
  hashing: { perMinute: 5, burst: 5 },
};

/**
 * Two instances' throttles over one fresh, migrated PostgreSQL database (each with a store of
 * its own, as two processes would have). Skipped with a printed reason without PostgreSQL,
 * except under `CI=true`.
 */
function testTwoInstances(
  name: string,
  fn: (a: DatabaseLoginThrottle, b: DatabaseLoginThrottle) => Promise<void>,
  limits: Partial<ThrottleLimits> = LIMITS,
): void {
  Deno.test(name, async () => {
    if (await skipWithoutPostgres()) return;
    await using database = await migratedPostgresDatabase();
    await using storeA = await ClusterStore.open(database.url, silentLog);
    await using storeB = await ClusterStore.open(database.url, silentLog);
    await fn(new DatabaseLoginThrottle(storeA, limits), new DatabaseLoginThrottle(storeB, limits));
  });
}

testTwoInstances(
  "DatabaseLoginThrottle: failed logins of one account add up over the instances",
  async (a, b) => {
    assert.equal(await a.begin(["alice"], "192.0.2.1"), undefined);
    assert.equal(await b.begin(["alice"], "192.0.2.2"), undefined);
    // The third goes through (2 free), and starts the wait, whichever instance it reaches.
    assert.equal(await a.begin(["ALICE"], "192.0.2.3"), undefined);
    const refused = await b.begin(["alice"], "192.0.2.4");
    assert.equal(refused?.reason, "failures");
    assert.ok(refused!.waitMs > 55_000 && refused!.waitMs <= 60_000, `wait ${refused?.waitMs}`);
    assert.equal((await a.begin(["alice"], "192.0.2.5"))?.reason, "failures");
    // Another account is not held up.
    assert.equal(await b.begin(["bob"], "192.0.2.4"), undefined);
  },
);

testTwoInstances(
  "DatabaseLoginThrottle: a good password starts the account over and refunds its address",
  async (a, b) => {
    assert.equal(await a.begin(["alice"], "192.0.2.1"), undefined);
    assert.equal(await a.begin(["alice"], "192.0.2.1"), undefined);
    await b.succeeded(["alice"], "192.0.2.1");
    // Over again: two more free failures before any wait.
    assert.equal(await b.begin(["alice"], "192.0.2.1"), undefined);
    assert.equal(await a.begin(["alice"], "192.0.2.1"), undefined);
    assert.equal(await b.begin(["alice"], "192.0.2.1"), undefined);
    assert.equal((await a.begin(["alice"], "192.0.2.1"))?.reason, "failures");
  },
);

testTwoInstances(
  "DatabaseLoginThrottle: registrations from one address add up over the instances",
  async (a, b) => {
    assert.equal(await a.beginRegistration("2001:db8::1"), undefined);
    assert.equal(await b.beginRegistration("2001:db8::2"), undefined, "the same /64: 2 of 1 free");
    assert.equal((await a.beginRegistration("2001:db8::3"))?.reason, "failures");
    // Registrations never count against logins from that address.
    assert.equal(await b.begin(["carol"], "2001:db8::1"), undefined);
  },
);

testTwoInstances(
  "DatabaseLoginThrottle: an address's hashing budget is shared, and a refusal counts nothing",
  async (a, b) => {
    for (let i = 0; i < 5; i++) {
      const throttle = i % 2 === 0 ? a : b;
      assert.equal(await throttle.begin([`user${i}`], "198.51.100.7"), undefined, `hash ${i}`);
    }
    const refused = await a.begin(["dave"], "198.51.100.7");
    assert.equal(refused?.reason, "hashing");
    assert.ok(refused!.waitMs > 0 && refused!.waitMs <= 12_000, `wait ${refused?.waitMs}`);
    // dave's refused attempt was not counted: from another address he still has 3 tries.
    for (let i = 0; i < 3; i++) assert.equal(await b.begin(["dave"], `203.0.113.${i}`), undefined);
    assert.equal((await b.begin(["dave"], "203.0.113.9"))?.reason, "failures");
  },
);

testTwoInstances(
  "DatabaseLoginThrottle: a good password gives its address back one failure, not all of them",
  async (a, b) => {
    assert.equal(await b.begin(["u1"], "192.0.2.50"), undefined);
    assert.equal(await b.begin(["u2"], "192.0.2.50"), undefined);
    await a.succeeded(["u2"], "192.0.2.50"); // u2's password was right: one failure back
    // The address holds 1 failure now: 2 more go through (2 free), the next waits.
    assert.equal(await a.begin(["u3"], "192.0.2.50"), undefined);
    assert.equal(await a.begin(["u4"], "192.0.2.50"), undefined);
    assert.equal((await b.begin(["u5"], "192.0.2.50"))?.reason, "failures");
  },
  { ...LIMITS, address: { free: 2, baseMs: 60_000, maxMs: 600_000, forgetMs: 3_600_000 } },
);
