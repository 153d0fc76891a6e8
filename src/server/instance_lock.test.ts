import assert from "node:assert/strict";
import postgres from "postgres";
import { emptyPostgresDatabase, postgresUnavailable } from "../../tests/helpers/db.ts";
import { type LogRecord, silentLog } from "../log.ts";
import { INSTANCE_LOCK_KEY, lockDatabase, type LockState, LockWatch } from "./instance_lock.ts";
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
  const reason = await postgresUnavailable();
  if (reason) {
    if (Deno.env.get("CI") === "true") throw new Error(`PostgreSQL is required in CI: ${reason}`);
    // deno-lint-ignore no-console -- the skip reason must reach the test output
    console.log(`skipped: ${reason}`);
    return;
  }
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
  const reason = await postgresUnavailable();
  if (reason) {
    if (Deno.env.get("CI") === "true") throw new Error(`PostgreSQL is required in CI: ${reason}`);
    // deno-lint-ignore no-console -- the skip reason must reach the test output
    console.log(`skipped: ${reason}`);
    return;
  }
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
