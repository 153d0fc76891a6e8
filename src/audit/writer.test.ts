import assert from "node:assert/strict";
import { eventually } from "../../tests/helpers/eventually.ts";
import type { AuditEntry } from "../db/repos/audit.ts";
import { silentLog } from "../log.ts";
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

/** A sink that can be switched off, recording what it stored. */
class Sink {
  rows: string[] = [];
  down = false;
  calls = 0;
  insertMany(entries: readonly AuditEntry[]) {
    this.calls++;
    if (this.down) return Promise.reject(new Error("connection refused"));
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
  assert.deepEqual(writer.stats, { buffered: 0, dropped: 0, written: 3, failures: 0 });
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
