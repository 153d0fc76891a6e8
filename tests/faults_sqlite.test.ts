/**
 * Faults of the embedded SQLite database: a full disk (simulated with a tiny page limit), a file
 * that refuses writes (simulated with `query_only`, since tests run as root, for whom a 0444 file
 * stays writable), and a corrupt file. Each gives a clear error and loses nothing else.
 */
import assert from "node:assert/strict";
import { sql } from "kysely";
import { AuditWriter } from "../src/audit/writer.ts";
import { DatabaseUnavailableError } from "../src/db/db.ts";
import { SQLITE_FILE } from "../src/db/open.ts";
import { createRepos } from "../src/db/repos/repos.ts";
import { silentLog } from "../src/log.ts";
import { sqliteTestDb } from "./helpers/db.ts";
import { eventually } from "./helpers/eventually.ts";
import { insertKey } from "./helpers/fixtures.ts";
import { TestApp } from "./helpers/app.ts";
import { runKeycast } from "./helpers/serve.ts";

Deno.test("a full disk fails writes with a clear error, keeps what was written, and recovers", async () => {
  await using db = await sqliteTestDb();
  const repos = createRepos(db);
  const kept = await insertKey(db, "kept");
  const { rows: [{ page_count: pages } = { page_count: 0 }] } = await sql<{ page_count: number }>`
    pragma page_count`.execute(db.kysely);
  await sql.raw(`pragma max_page_count = ${pages}`).execute(db.kysely);

  const entry = {
    at: new Date(),
    authorizationId: null,
    clientPubkey: "c".repeat(64),
    method: "sign_event",
    eventKind: 1,
    eventId: null,
    decision: "allow" as const,
    reason: "x".repeat(2_000),
    latencyMs: 1,
  };
  const error = await repos.audit.insertMany(Array(50).fill(entry)).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(error instanceof DatabaseUnavailableError, String(error));
  assert.equal(error.reason, "the disk is full");
  // The failed batch was rolled back whole; the key written before is intact.
  assert.deepEqual(await repos.audit.query({ limit: 1000 }), []);
  assert.equal((await repos.keys.getByName("kept"))?.pubkey, kept.pubkey);

  // The audit writer keeps the rows while the disk is full and writes them once there is room.
  await using writer = new AuditWriter({ sink: repos.audit, log: silentLog, flushIntervalMs: 10 });
  for (let i = 0; i < 50; i++) writer.record(entry);
  await eventually("the writer reports a failed flush", () => writer.stats.failures > 0);
  assert.equal(writer.stats.buffered, 50);
  await sql.raw("pragma max_page_count = 1073741823").execute(db.kysely);
  await eventually("the buffered rows are written", () => writer.stats.buffered === 0);
  assert.equal((await repos.audit.query({ limit: 1000 })).length, 50);
});

Deno.test("a database that refuses writes answers the API with 503 and the reason, and keeps serving reads", async () => {
  await using db = await sqliteTestDb();
  await using app = await TestApp.create(db);
  assert.equal((await app.json("POST", "/api/keys", { name: "before" })).status, 201);
  await sql`pragma query_only = on`.execute(db.kysely);
  const refused = await app.json("POST", "/api/keys", { name: "during" });
  assert.equal(refused.status, 503);
  assert.match(refused.body.error, /unavailable/);
  const listed = await app.json("GET", "/api/keys");
  assert.deepEqual(listed.body.keys.map((k: { name: string }) => k.name), ["before"]);
  await sql`pragma query_only = off`.execute(db.kysely);
  assert.equal((await app.json("POST", "/api/keys", { name: "after" })).status, 201);
});

Deno.test("serve refuses a corrupt database file with one line naming it, and leaves it as it was", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "keycast-corrupt-" });
  try {
    const garbage = new TextEncoder().encode("this is not an SQLite database\n".repeat(200));
    await Deno.writeFile(`${dataDir}/${SQLITE_FILE}`, garbage);
    const result = await runKeycast(["serve", "--relay", "ws://127.0.0.1:9", "--port", "0"], {
      env: { KEYCAST_DATA_DIR: dataDir },
    });
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.trim().split("\n").filter((line) => !line.startsWith("{"));
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0]!,
      /Cannot open the database file ".*keycast\.db": file is not a database/,
    );
    assert.deepEqual(await Deno.readFile(`${dataDir}/${SQLITE_FILE}`), garbage);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
