import assert from "node:assert/strict";
import postgres from "postgres";
import { emptyPostgresDatabase, skipWithoutPostgres } from "../../tests/helpers/db.ts";
import { eventually } from "../../tests/helpers/eventually.ts";
import { type LogRecord, silentLog } from "../log.ts";
import { deadline, delay } from "../util/async.ts";
import {
  INSTANCE_LOCK_KEY,
  lockDatabase,
  type LockState,
  LockWatch,
  MIGRATION_LOCK_KEY,
  withMigrationLock,
} from "./instance_lock.ts";
import { StartupError } from "./startup.ts";

/** A LockWatch over a scripted probe and a clock the test moves. */
function scriptedWatch(graceMs = 30_000) {
  const clock = { now: 0 };
  let next: () => Promise<LockState> = () => Promise.resolve("held");
  const logs: LogRecord[] = [];
  let lost = 0;
  const watch = new LockWatch({
    probe: () => next(),
    probeTimeoutMs: 1_000,
    graceMs,
    now: () => clock.now,
    log: (record) => void logs.push(record),
    onLost: () => void lost++,
  });
  return {
    watch,
    clock,
    logs,
    lostCalls: () => lost,
    answer: (state: LockState) => (next = () => Promise.resolve(state)),
    fail: (message: string) => (next = () => Promise.reject(new Error(message))),
  };
}

Deno.test("LockWatch keeps quiet while the lock is held", async () => {
  const s = scriptedWatch();
  for (let i = 0; i < 10; i++) {
    s.clock.now += 5_000;
    await s.watch.check();
  }
  assert.equal(s.lostCalls(), 0);
  assert.deepEqual(s.logs, []);
});

Deno.test("LockWatch loses the lock at once when another keycast holds it", async () => {
  const s = scriptedWatch();
  s.answer("taken");
  await s.watch.check();
  assert.equal(s.lostCalls(), 1);
  assert.equal(s.watch.lost, true);
  const errors = s.logs.filter((record) => record.level === "error");
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.msg, /^Lost the database's instance lock: another keycast took it/);
  // Lost for good: later checks neither probe, log nor call back again.
  s.answer("held");
  await s.watch.check();
  assert.equal(s.lostCalls(), 1);
  assert.equal(s.logs.length, 1);
});

Deno.test("LockWatch warns when it took the lock again after a reconnect", async () => {
  const s = scriptedWatch();
  s.fail("write CONNECTION_CLOSED");
  s.clock.now = 5_000;
  await s.watch.check();
  s.answer("retaken");
  s.clock.now = 10_000;
  await s.watch.check();
  assert.equal(s.lostCalls(), 0);
  assert.deepEqual(s.logs.map((record) => [record.level, record.unconfirmedMs]), [
    ["warn", 10_000],
  ]);
});

Deno.test("LockWatch loses a lock it cannot confirm for the grace period, once", async () => {
  const s = scriptedWatch(30_000);
  s.fail("connect ECONNREFUSED 127.0.0.1:5432");
  for (const at of [5_000, 15_000, 29_999]) {
    s.clock.now = at;
    await s.watch.check();
  }
  assert.equal(s.lostCalls(), 0, "within the grace period the lock may still come back");
  s.clock.now = 30_000;
  await s.watch.check();
  s.clock.now = 35_000;
  await s.watch.check();
  assert.equal(s.lostCalls(), 1);
  const errors = s.logs.filter((record) => record.level === "error");
  assert.equal(errors.length, 1);
  assert.match(
    errors[0]!.msg,
    /could not be confirmed for 30 s \(connect ECONNREFUSED 127\.0\.0\.1:5432\)/,
  );
});

Deno.test("LockWatch counts the grace period from the last confirmation", async () => {
  const s = scriptedWatch(30_000);
  s.fail("timeout");
  s.clock.now = 20_000;
  await s.watch.check();
  s.answer("held");
  s.clock.now = 25_000;
  await s.watch.check();
  s.fail("timeout");
  s.clock.now = 50_000;
  await s.watch.check();
  assert.equal(s.lostCalls(), 0);
  s.clock.now = 55_000;
  await s.watch.check();
  assert.equal(s.lostCalls(), 1);
});

Deno.test("LockWatch treats a probe that does not answer in time as unconfirmed", async () => {
  const clock = { now: 0 };
  let lost = 0;
  let resets = 0;
  const never = Promise.withResolvers<LockState>();
  const watch = new LockWatch({
    probe: () => never.promise,
    probeTimeoutMs: 1,
    graceMs: 0,
    reset: () => void resets++,
    now: () => clock.now,
    log: silentLog,
    onLost: () => void lost++,
  });
  await watch.check();
  assert.equal(lost, 1);
  assert.equal(resets, 1, "a probe that hung gets a new connection");
  never.resolve("held");
});

Deno.test("LockWatch resets the connection after every failed probe, not after good ones", async () => {
  let resets = 0;
  const answers: Array<LockState | Error> = ["held", new Error("ECONNRESET"), "retaken", "held"];
  const watch = new LockWatch({
    probe: () => {
      const next = answers.shift()!;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
    probeTimeoutMs: 1_000,
    graceMs: 30_000,
    reset: () => void resets++,
    now: () => 0,
    log: silentLog,
    onLost: () => assert.fail("not lost"),
  });
  for (let i = 0; i < 4; i++) await watch.check();
  assert.equal(resets, 1);
});

Deno.test("lockDatabase() refuses a second holder, and a watched lock taken over is lost", async () => {
  if (await skipWithoutPostgres()) return;
  await using database = await emptyPostgresDatabase();
  let lost = 0;
  const logs: LogRecord[] = [];
  await using lock = await lockDatabase(database.url, (record) => void logs.push(record), {
    onLost: () => void lost++,
    checkIntervalMs: 3_600_000, // checked by hand below
  });
  await lock.check();
  assert.equal(lost, 0);

  await assert.rejects(
    lockDatabase(database.url, silentLog, { action: "migrate" }),
    (error: unknown) =>
      error instanceof StartupError && error.exitCode === 1 &&
      /^Cannot migrate: another keycast is already serving the database at .*; stop it first$/
        .test(error.message),
  );

  // The lock's connection drops; another session takes the lock before this one is back.
  const other = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    await other`select pg_terminate_backend(pid) from pg_stat_activity
      where application_name = 'keycast-instance-lock' and datname = current_database()`;
    await other`set lock_timeout = '10s'`;
    await other`select pg_advisory_lock(${INSTANCE_LOCK_KEY.toString()}::bigint)`;
    // The first check may only learn that the old connection is gone; a later one reconnects.
    for (let i = 0; i < 5 && lost === 0; i++) await lock.check();
    assert.equal(lost, 1);
    const errors = logs.filter((record) => record.level === "error");
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.msg, /another keycast took it/);
  } finally {
    await other.end({ timeout: 1 });
  }
});

Deno.test("lockDatabase() takes the lock again on a new connection after its own was cut", async () => {
  if (await skipWithoutPostgres()) return;
  await using database = await emptyPostgresDatabase();
  let lost = 0;
  const logs: LogRecord[] = [];
  await using lock = await lockDatabase(database.url, (record) => void logs.push(record), {
    onLost: () => void lost++,
    checkIntervalMs: 3_600_000, // checked by hand below
    probeTimeoutMs: 2_000,
  });
  const other = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    for (let round = 0; round < 3; round++) {
      await other`select pg_terminate_backend(pid) from pg_stat_activity
        where application_name = 'keycast-instance-lock' and datname = current_database()`;
      const before = logs.length;
      // A check may first learn the connection is gone (or hang on it): the next gets a new one.
      for (let i = 0; i < 5 && logs.length === before; i++) await lock.check();
      assert.equal(lost, 0);
      assert.deepEqual(logs.slice(before).map((record) => [record.level, record.msg]), [
        ["warn", "Took the database's instance lock again after its connection dropped"],
      ]);
      // Held again: a second keycast is refused.
      await assert.rejects(lockDatabase(database.url, silentLog), StartupError);
    }
  } finally {
    await other.end({ timeout: 1 });
  }
});

Deno.test("lockDatabase(): cluster instances share the lock, and keep a keycast without --cluster out", async () => {
  if (await skipWithoutPostgres()) return;
  await using database = await emptyPostgresDatabase();
  let lost = 0;
  const options = { shared: true, onLost: () => void lost++, checkIntervalMs: 3_600_000 };
  await using first = await lockDatabase(database.url, silentLog, options);
  await using second = await lockDatabase(database.url, silentLog, options);
  await first.check();
  await second.check();
  assert.equal(lost, 0, "each confirms its own share of the lock");

  await assert.rejects(
    lockDatabase(database.url, silentLog),
    (error: unknown) =>
      error instanceof StartupError && error.exitCode === 1 &&
      /^Cannot start: keycast instances with --cluster are serving the database at .*; start this one with --cluster too$/
        .test(error.message),
  );
  await assert.rejects(
    lockDatabase(database.url, silentLog, { action: "migrate" }),
    (error: unknown) =>
      error instanceof StartupError &&
      /^Cannot migrate: keycast instances with --cluster are serving .*; stop them first$/
        .test(error.message),
  );
  await first.check();
  assert.equal(lost, 0, "a refused keycast takes nothing from the holders");
});

Deno.test("lockDatabase(): a keycast without --cluster keeps cluster instances out", async () => {
  if (await skipWithoutPostgres()) return;
  await using database = await emptyPostgresDatabase();
  await using _lock = await lockDatabase(database.url, silentLog);
  await assert.rejects(
    lockDatabase(database.url, silentLog, { shared: true }),
    (error: unknown) =>
      error instanceof StartupError && error.exitCode === 1 &&
      /^Cannot start: a keycast without --cluster is serving the database at .*; stop it, or run every instance with --cluster$/
        .test(error.message),
  );
});

Deno.test("withMigrationLock() runs one migration at a time", async () => {
  if (await skipWithoutPostgres()) return;
  await using database = await emptyPostgresDatabase();
  const order: string[] = [];
  const firstHolds = Promise.withResolvers<void>();
  const firstRuns = Promise.withResolvers<void>();
  const first = withMigrationLock(database.url, async () => {
    order.push("first starts");
    firstRuns.resolve();
    await firstHolds.promise;
    order.push("first ends");
  });
  await deadline(firstRuns.promise, 10_000);
  const second = withMigrationLock(database.url, () => {
    order.push("second runs");
    return Promise.resolve(2);
  });
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    await eventually("the second migration waits for the lock", async () => {
      const [row] = await sql`select count(*)::int as waiting from pg_locks
        where locktype = 'advisory' and not granted and database = (
          select oid from pg_database where datname = current_database())`;
      return row?.waiting === 1;
    }, { timeoutMs: 10_000 });
  } finally {
    await sql.end({ timeout: 1 });
  }
  assert.deepEqual(order, ["first starts"]);
  firstHolds.resolve();
  await first;
  assert.equal(await deadline(second, 10_000), 2);
  assert.deepEqual(order, ["first starts", "first ends", "second runs"]);
});

Deno.test("withMigrationLock() gives up after its timeout, saying another instance migrates", async () => {
  if (await skipWithoutPostgres()) return;
  await using database = await emptyPostgresDatabase();
  const holder = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    await holder`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
    let ran = false;
    const started = performance.now();
    const waiting = withMigrationLock(database.url, () => {
      ran = true;
      return Promise.resolve();
    }, { timeoutMs: 300 });
    await assert.rejects(
      deadline(waiting, 10_000),
      (error: unknown) =>
        error instanceof StartupError && error.exitCode === 1 &&
        /^Cannot migrate the database at .*: another keycast instance has been migrating it for more than 0.3 s \(it holds the migration lock\); start this one again once that migration has finished$/
          .test(error.message),
    );
    assert.ok(performance.now() - started >= 300, "it waited its timeout");
    assert.equal(ran, false);
  } finally {
    await holder.end({ timeout: 1 });
  }
  // Once the lock is free, the same short timeout does not get in the way of the migrations.
  assert.equal(
    await withMigrationLock(database.url, () => delay(500).then(() => 7), { timeoutMs: 300 }),
    7,
  );
});

Deno.test("lockDatabase() looks only at the locks of its own database", async () => {
  if (await skipWithoutPostgres()) return;
  // Cluster instances on another database of the same server hold the same advisory key.
  await using other = await emptyPostgresDatabase();
  const shared = { shared: true };
  await using _a = await lockDatabase(other.url, silentLog, shared);
  await using _b = await lockDatabase(other.url, silentLog, shared);
  await using _c = await lockDatabase(other.url, silentLog, shared);
  await using database = await emptyPostgresDatabase();
  let lost = 0;
  await using lock = await lockDatabase(database.url, silentLog, {
    onLost: () => void lost++,
    checkIntervalMs: 3_600_000,
  });
  await lock.check();
  assert.equal(lost, 0);
  await assert.rejects(
    lockDatabase(database.url, silentLog),
    (error: unknown) =>
      error instanceof StartupError &&
      /^Cannot start: another keycast is already serving the database at .*\/keycast_test_\w+ /
        .test(error.message) &&
      error.message.includes(new URL(database.url).pathname.slice(1)),
  );
});
