import assert from "node:assert/strict";
import { join } from "node:path";
import { migrate } from "../db/migrate.ts";
import { openSqlite } from "../db/sqlite.ts";
import { openPostgres, PG_DUMP_COMMAND } from "../db/postgres.ts";
import { hasSqliteHeader } from "../domain/backup.ts";
import { BACKUP_TEMP_PREFIX, removeBackupLeftovers, takeBackup } from "./backup.ts";
import { generateKey } from "./keys.ts";
import { serviceError, ServiceHarness } from "./testing.ts";
import type { Db } from "../db/db.ts";

/** A migrated SQLite database in its own data dir, both removed when disposed. */
async function dataDir(): Promise<{ dir: string; db: Db } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "keycast-backup-test-" });
  const db = await openSqlite({ path: join(dir, "keycast.db") });
  await migrate(db);
  return {
    dir,
    db,
    [Symbol.asyncDispose]: async () => {
      await db.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("takeBackup() streams a consistent copy that opens with the same rows, and leaves no file", async () => {
  await using data = await dataDir();
  using harness = await ServiceHarness.create(data.db);
  const deps = {
    ...harness.deps,
    snapshots: { dir: data.dir, snapshot: (path: string) => data.db.snapshot(path) },
  };
  const key = await generateKey(deps, "alice");

  const backup = await takeBackup(deps);
  const bytes = new Uint8Array(await new Response(backup.body).arrayBuffer());
  assert.equal(bytes.byteLength, backup.size);
  assert.ok(hasSqliteHeader(bytes));
  assert.deepEqual(await entries(data.dir), ["keycast.db", "keycast.db-shm", "keycast.db-wal"]);

  const restoredDir = await Deno.makeTempDir({ prefix: "keycast-backup-copy-" });
  try {
    await Deno.writeFile(join(restoredDir, "keycast.db"), bytes);
    await using copy = await openSqlite({ path: join(restoredDir, "keycast.db") });
    const rows = await copy.kysely.selectFrom("keys").select(["name", "pubkey", "secret_sealed"])
      .execute();
    assert.deepEqual(rows, [{
      name: "alice",
      pubkey: key.pubkey,
      secret_sealed: key.secretSealed,
    }]);
  } finally {
    await Deno.remove(restoredDir, { recursive: true });
  }
  assert.ok(harness.logs.some((record) => record.msg === "Took a backup"));
});

Deno.test("takeBackup() waits for an open transaction: never half of one in the copy", async () => {
  await using data = await dataDir();
  using harness = await ServiceHarness.create(data.db);
  const deps = {
    ...harness.deps,
    snapshots: { dir: data.dir, snapshot: (path: string) => data.db.snapshot(path) },
  };
  const first = Promise.withResolvers<void>();
  const gate = Promise.withResolvers<void>();
  const writing = data.db.transaction(async (tx) => {
    for (const name of ["one", "two"]) {
      await tx.insertInto("policies").values({
        id: crypto.randomUUID(),
        name,
        rules: data.db.json({}),
        created_at: new Date(),
        updated_at: new Date(),
      }).execute();
      first.resolve();
      await gate.promise;
    }
  });
  await first.promise;
  const taking = takeBackup(deps);
  gate.resolve();
  await writing;
  const bytes = new Uint8Array(await new Response((await taking).body).arrayBuffer());

  const copyDir = await Deno.makeTempDir({ prefix: "keycast-backup-copy-" });
  try {
    await Deno.writeFile(join(copyDir, "keycast.db"), bytes);
    await using copy = await openSqlite({ path: join(copyDir, "keycast.db") });
    const names = await copy.kysely.selectFrom("policies").select("name")
      .where("name", "in", ["one", "two"]).orderBy("name").execute();
    assert.deepEqual(names.map((row) => row.name), ["one", "two"]);
  } finally {
    await Deno.remove(copyDir, { recursive: true });
  }
});

Deno.test("takeBackup() releases the file when the download is cancelled", async () => {
  await using data = await dataDir();
  using harness = await ServiceHarness.create(data.db);
  const backup = await takeBackup({
    ...harness.deps,
    snapshots: { dir: data.dir, snapshot: (path) => data.db.snapshot(path) },
  });
  const reader = backup.body.getReader();
  await reader.read();
  await reader.cancel();
  // The sanitizers fail this test if the file were still open.
  assert.equal(
    (await entries(data.dir)).some((name) => name.startsWith(BACKUP_TEMP_PREFIX)),
    false,
  );
});

Deno.test("takeBackup() fails a download that outlives its deadline and releases the file", async () => {
  await using data = await dataDir();
  using harness = await ServiceHarness.create(data.db);
  const backup = await takeBackup({
    ...harness.deps,
    snapshots: { dir: data.dir, snapshot: (path) => data.db.snapshot(path) },
  }, { timeoutMs: 0 });
  // Nobody reads: the stream fills its queue with one chunk and waits; then the deadline passes.
  const reader = backup.body.getReader();
  await assert.rejects(reader.closed, /The backup download took longer than 0 ms/);
  assert.ok(harness.logs.some((record) => record.msg.includes("took too long")));
});

Deno.test("takeBackup() removes the temp dir when the snapshot fails", async () => {
  await using data = await dataDir();
  using harness = await ServiceHarness.create(data.db);
  await assert.rejects(
    takeBackup({
      ...harness.deps,
      snapshots: { dir: data.dir, snapshot: () => Promise.reject(new Error("disk full")) },
    }),
    /disk full/,
  );
  assert.deepEqual(await entries(data.dir), ["keycast.db", "keycast.db-shm", "keycast.db-wal"]);
});

Deno.test("takeBackup() on PostgreSQL is a conflict naming the pg_dump command", async () => {
  await using data = await dataDir();
  using harness = await ServiceHarness.create(data.db);
  // The pool connects on its first query; snapshot() never makes one.
  await using postgres = openPostgres("postgres://keycast@127.0.0.1:1/keycast");
  const error = await serviceError(
    takeBackup({
      ...harness.deps,
      snapshots: { dir: data.dir, snapshot: (path) => postgres.snapshot(path) },
    }),
    "conflict",
  );
  assert.match(error.message, /use pg_dump|with pg_dump/);
  assert.ok(error.message.includes(PG_DUMP_COMMAND), error.message);
  assert.equal(error.message.includes("127.0.0.1"), false);
  assert.deepEqual(await entries(data.dir), ["keycast.db", "keycast.db-shm", "keycast.db-wal"]);
});

Deno.test("takeBackup() without a snapshot source is unavailable", async () => {
  await using data = await dataDir();
  using harness = await ServiceHarness.create(data.db);
  await serviceError(takeBackup(harness.deps), "unavailable");
});

Deno.test("removeBackupLeftovers() removes the .backup-* directories and nothing else", async () => {
  await using data = await dataDir();
  await Deno.mkdir(join(data.dir, `${BACKUP_TEMP_PREFIX}abc`));
  await Deno.writeTextFile(join(data.dir, `${BACKUP_TEMP_PREFIX}abc`, "keycast.db"), "x");
  await Deno.writeTextFile(join(data.dir, `${BACKUP_TEMP_PREFIX}file`), "not a directory");
  const removed = await removeBackupLeftovers(data.dir, () => {});
  assert.equal(removed, 1);
  assert.deepEqual(await entries(data.dir), [
    `${BACKUP_TEMP_PREFIX}file`,
    "keycast.db",
    "keycast.db-shm",
    "keycast.db-wal",
  ]);
});
