import assert from "node:assert/strict";
import { testEachDatabase } from "../../tests/helpers/db.ts";
import { eventually } from "../../tests/helpers/eventually.ts";
import { type AuditEntry, AuditRepo } from "../db/repos/audit.ts";
import { DatabaseUnavailableError } from "../db/db.ts";
import { type LogRecord, silentLog } from "../log.ts";
import { AuditWriter } from "./writer.ts";

function entry(method: string): AuditEntry {
  return {
    at: new Date(),
    authorizationId: null,
    clientPubkey: null,
    method,
    eventKind: null,
    eventId: null,
    decision: "allow",
    reason: null,
    latencyMs: 1,
  };
}

/** An error shaped like postgres.js's, with a SQLSTATE. */
function postgresError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** An error shaped like `SqliteError` (`src/db/sqlite.ts`), with an extended result code. */
function sqliteError(errcode: number, message: string): Error {
  return Object.assign(new Error(message), { failure: { errcode, message } });
}

/** A sink that can be switched off, recording what it stored. */
class Sink {
  rows: string[] = [];
  down = false;
  calls = 0;
  /** Methods the database refuses, as PostgreSQL refused a NUL before text was sanitized. */
  poison = new Set<string>();
  /** An error every statement fails with, whatever its rows (a database-wide state). */
  failing: unknown;
  /** Statements to let through before `failing` applies. */
  failAfter = 0;
  insertMany(entries: readonly AuditEntry[]) {
    this.calls++;
    if (this.down) return Promise.reject(new DatabaseUnavailableError("connection refused"));
    if (this.failing !== undefined && this.failAfter-- <= 0) return Promise.reject(this.failing);
    if (entries.some((e) => this.poison.has(e.method))) {
      return Promise.reject(postgresError("22P05", "unsupported Unicode escape sequence"));
    }
    this.rows.push(...entries.map((e) => e.method));
    return Promise.resolve();
  }
}

Deno.test("AuditWriter.record() returns at once and flush() writes batches in order", async () => {
  const sink = new Sink();
  await using writer = new AuditWriter({
    sink,
    log: silentLog,
    batchSize: 2,
    flushIntervalMs: 10_000,
  });
  for (const method of ["a", "b", "c"]) writer.record(entry(method));
  assert.equal(sink.calls, 0);
  await writer.flush();
  assert.deepEqual(sink.rows, ["a", "b", "c"]);
  assert.equal(sink.calls, 2);
  assert.deepEqual(writer.stats, {
    buffered: 0,
    dropped: 0,
    written: 3,
    failures: 0,
    rejected: 0,
    suppressed: 0,
  });
});

Deno.test("AuditWriter buffers within bounds while the database is down and recovers", async () => {
  const sink = new Sink();
  sink.down = true;
  await using writer = new AuditWriter({
    sink,
    log: silentLog,
    maxBuffered: 3,
    flushIntervalMs: 10_000,
  });
  for (const method of ["a", "b", "c", "d", "e"]) writer.record(entry(method));
  await writer.flush();
  assert.equal(writer.stats.buffered, 3);
  assert.equal(writer.stats.dropped, 2);
  assert.equal(writer.stats.failures, 1);
  sink.down = false;
  await writer.flush();
  assert.deepEqual(sink.rows, ["c", "d", "e"]);
  assert.equal(writer.stats.buffered, 0);
});

Deno.test("AuditWriter flushes on its timer and on dispose", async () => {
  const sink = new Sink();
  const writer = new AuditWriter({ sink, log: silentLog, flushIntervalMs: 5 });
  writer.record(entry("timer"));
  await eventually("the timer has flushed", () => sink.rows.length > 0, {
    timeoutMs: 1_000,
    intervalMs: 5,
  });
  assert.deepEqual(sink.rows, ["timer"]);
  writer.record(entry("last"));
  await writer[Symbol.asyncDispose]();
  assert.deepEqual(sink.rows, ["timer", "last"]);
  writer.record(entry("after close"));
  assert.equal(writer.stats.dropped, 1);
});

Deno.test("AuditWriter counts a batch whose insert is still pending as buffered", async () => {
  let release!: () => void;
  const sink = {
    insertMany: () => new Promise<void>((resolve) => (release = resolve)),
  };
  await using writer = new AuditWriter({ sink, log: silentLog, flushIntervalMs: 10_000 });
  writer.record(entry("a"));
  writer.record(entry("b"));
  const flushing = writer.flush();
  assert.equal(writer.stats.buffered, 2);
  release();
  await flushing;
  assert.equal(writer.stats.buffered, 0);
  assert.equal(writer.stats.written, 2);
});

Deno.test("AuditWriter sets aside the one row the database refuses and writes the rest", async () => {
  const sink = new Sink();
  sink.poison.add("x\u0000");
  const logs: LogRecord[] = [];
  await using writer = new AuditWriter({
    sink,
    log: (record) => void logs.push(record),
    flushIntervalMs: 10_000,
  });
  for (let i = 0; i < 20; i++) writer.record(entry(i === 13 ? "x\u0000" : `m${i}`));
  await writer.flush();
  assert.equal(sink.rows.length, 19);
  assert.ok(!sink.rows.includes("x\u0000"));
  assert.equal(writer.stats.rejected, 1);
  assert.equal(writer.stats.buffered, 0);
  assert.equal(writer.stats.written, 19);
  assert.equal(logs.filter((r) => r.msg.startsWith("The database refused")).length, 1);
  // Later rows keep landing: the poisoned row does not block the log.
  writer.record(entry("after"));
  await writer.flush();
  assert.equal(sink.rows.at(-1), "after");
});

Deno.test("AuditWriter backs off while the database is down and warns with the count", async () => {
  const sink = new Sink();
  sink.down = true;
  let now = 0;
  const logs: LogRecord[] = [];
  await using writer = new AuditWriter({
    sink,
    log: (record) => void logs.push(record),
    flushIntervalMs: 10_000,
    now: () => now,
  });
  for (let i = 0; i < 3; i++) writer.record(entry(`m${i}`));
  await writer.flush();
  await writer.flush();
  const warnings = logs.filter((r) => r.level === "warn");
  assert.equal(warnings.length, 1, "one warning per 30 s, not one per attempt");
  assert.equal(warnings[0]!.buffered, 3);
  assert.equal(warnings[0]!.retryInMs, 20_000, "the retry delay doubles from the flush interval");
  assert.equal(writer.stats.rejected, 0, "an outage rejects nothing");
  now = 31_000;
  await writer.flush();
  assert.equal(logs.filter((r) => r.level === "warn").length, 2);
  sink.down = false;
  await writer.flush();
  assert.deepEqual(sink.rows, ["m0", "m1", "m2"]);
});

Deno.test("AuditWriter limits rows of clients that never connected, per client", async () => {
  const sink = new Sink();
  let now = 0;
  await using writer = new AuditWriter({
    sink,
    log: silentLog,
    flushIntervalMs: 10_000,
    strangerRowsPerMinute: 5,
    now: () => now,
  });
  const stranger = (pubkey: string) => ({ ...entry("ping"), clientPubkey: pubkey });
  for (let i = 0; i < 100; i++) writer.record(stranger("a".repeat(64)), { connected: false });
  for (let i = 0; i < 3; i++) writer.record(stranger("b".repeat(64)), { connected: false });
  for (let i = 0; i < 100; i++) writer.record(stranger("c".repeat(64)), { connected: true });
  await writer.flush();
  assert.equal(sink.rows.length, 5 + 3 + 100);
  assert.equal(writer.stats.suppressed, 95);
  now = 60_000; // a minute later the stranger may leave rows again
  writer.record(stranger("a".repeat(64)), { connected: false });
  await writer.flush();
  assert.equal(sink.rows.length, 109);
});

Deno.test("AuditWriter caps the method and reason it keeps", async () => {
  const rows: AuditEntry[] = [];
  await using writer = new AuditWriter({
    sink: {
      insertMany: (entries) => {
        rows.push(...entries);
        return Promise.resolve();
      },
    },
    log: silentLog,
    flushIntervalMs: 10_000,
  });
  writer.record({ ...entry("m".repeat(500)), reason: "r".repeat(5_000) });
  await writer.flush();
  assert.equal(rows[0]!.method.length, 64);
  assert.equal(rows[0]!.reason!.length, 512);
});

Deno.test("AuditWriter keeps every row queued on database-wide errors, rejecting none", async () => {
  for (
    const failing of [
      postgresError("25006", "cannot execute INSERT in a read-only transaction"),
      postgresError("53100", "could not extend file: No space left on device"),
      postgresError("57014", "canceling statement due to statement timeout"),
      postgresError("40P01", "deadlock detected"),
      sqliteError(5, "database is locked"), // SQLITE_BUSY
      sqliteError(13, "database or disk is full"), // SQLITE_FULL
      sqliteError(8, "attempt to write a readonly database"), // SQLITE_READONLY
      new DatabaseUnavailableError("the disk is full"),
      new TypeError("a driver bug of unknown shape"),
    ]
  ) {
    const sink = new Sink();
    sink.failing = failing;
    sink.poison.add("bad"); // a real row fault too: it must not be blamed meanwhile
    await using writer = new AuditWriter({
      sink,
      log: silentLog,
      maxBuffered: 5,
      flushIntervalMs: 10_000,
    });
    for (const method of ["a", "bad", "c", "d", "e", "f", "g"]) writer.record(entry(method));
    await writer.flush();
    assert.equal(sink.calls, 1, `one statement, no split: ${failing.message}`);
    assert.equal(writer.stats.rejected, 0, failing.message);
    assert.equal(writer.stats.buffered, 5, "kept, within bounds");
    assert.equal(writer.stats.dropped, 2);
    assert.equal(writer.stats.failures, 1);
    sink.failing = undefined;
    await writer.flush();
    assert.deepEqual(sink.rows, ["c", "d", "e", "f", "g"], failing.message);
  }
});

Deno.test("AuditWriter treats data and constraint errors of either engine as row faults", async () => {
  for (
    const refusal of [
      postgresError("22P05", "unsupported Unicode escape sequence"),
      postgresError("22001", "value too long for type character varying(64)"),
      postgresError("23514", "new row violates check constraint"),
      sqliteError(275, "CHECK constraint failed: decision"), // SQLITE_CONSTRAINT_CHECK
      sqliteError(18, "string or blob too big"), // SQLITE_TOOBIG
    ]
  ) {
    const sink = {
      rows: [] as string[],
      insertMany(entries: readonly AuditEntry[]) {
        if (entries.some((e) => e.method === "bad")) return Promise.reject(refusal);
        this.rows.push(...entries.map((e) => e.method));
        return Promise.resolve();
      },
    };
    await using writer = new AuditWriter({ sink, log: silentLog, flushIntervalMs: 10_000 });
    for (const method of ["a", "bad", "c"]) writer.record(entry(method));
    await writer.flush();
    assert.deepEqual(sink.rows, ["a", "c"], refusal.message);
    assert.equal(writer.stats.rejected, 1, refusal.message);
    assert.equal(writer.stats.buffered, 0);
  }
});

Deno.test("AuditWriter requeues only the unwritten rows when the database fails mid-split", async () => {
  const sink = new Sink();
  sink.poison.add("bad");
  // The whole batch is refused, its first half lands, then the database goes read-only.
  sink.failing = postgresError("25006", "cannot execute INSERT in a read-only transaction");
  sink.failAfter = 2;
  await using writer = new AuditWriter({ sink, log: silentLog, flushIntervalMs: 10_000 });
  for (const method of ["a", "b", "c", "bad", "e", "f"]) writer.record(entry(method));
  await writer.flush();
  assert.deepEqual(sink.rows, ["a", "b", "c"]);
  assert.equal(writer.stats.buffered, 3);
  assert.equal(writer.stats.rejected, 0);
  sink.failing = undefined;
  await writer.flush();
  assert.deepEqual(sink.rows, ["a", "b", "c", "e", "f"], "no row written twice");
  assert.equal(writer.stats.rejected, 1);
  assert.equal(writer.stats.written, 5);
});

Deno.test("AuditWriter warns about rows set aside at most once per 30 s, with the count", async () => {
  const sink = new Sink();
  sink.poison.add("bad");
  let now = 0;
  const logs: LogRecord[] = [];
  await using writer = new AuditWriter({
    sink,
    log: (record) => void logs.push(record),
    flushIntervalMs: 10_000,
    now: () => now,
  });
  const refusals = () => logs.filter((r) => r.msg.startsWith("The database refused"));
  for (let i = 0; i < 50; i++) writer.record(entry("bad"));
  await writer.flush();
  assert.equal(writer.stats.rejected, 50);
  assert.equal(refusals().length, 1);
  assert.equal(refusals()[0]!.setAside, 1);
  now = 29_999;
  writer.record(entry("bad"));
  await writer.flush();
  assert.equal(refusals().length, 1);
  now = 30_000;
  writer.record(entry("bad"));
  await writer.flush();
  assert.equal(refusals().length, 2);
  assert.equal(refusals()[1]!.setAside, 51, "every row set aside since the last warning");
});

testEachDatabase("AuditWriter sets aside the row the real database refuses", async (db) => {
  const repo = new AuditRepo(db);
  await using writer = new AuditWriter({ sink: repo, log: silentLog, flushIntervalMs: 10_000 });
  writer.record(entry("before"));
  // A decision the table's check constraint refuses.
  writer.record({ ...entry("refused"), decision: "maybe" as "allow" });
  writer.record(entry("after"));
  await writer.flush();
  assert.equal(writer.stats.rejected, 1);
  assert.equal(writer.stats.written, 2);
  assert.equal(writer.stats.buffered, 0);
  const stored = await repo.query({});
  assert.deepEqual(stored.map((row) => row.method).sort(), ["after", "before"]);
});
