import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { BackupSealer, SEAL_TABLE_SQL, type SealVerdict } from "./backup_seal.ts";
import { tempDir } from "../../tests/helpers/temp_dir.ts";
import { digestOf, makeDb } from "./backup_testing.ts";

const SEALED_AT = Date.parse("2099-01-02T03:04:05Z");

async function verify(path: string, sealer: BackupSealer): Promise<SealVerdict> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return await sealer.verify(db);
  } finally {
    db.close();
  }
}

const TABLES = "create table t (a, b); create table w (k text primary key, v) without rowid;";

Deno.test("seal() leaves one rollback-journal file whose seal verifies and whose digest is unchanged", async () => {
  await using dir = await tempDir("keycast-seal-test-");
  const path = join(dir.path, "snapshot.db");
  makeDb(path, `pragma journal_mode = wal; ${TABLES} insert into t values (1, 'x');`);
  const before = await digestOf(path);
  const key = crypto.getRandomValues(new Uint8Array(32));
  await new BackupSealer(key).seal(path, SEALED_AT);

  const names = [];
  for await (const entry of Deno.readDir(dir.path)) names.push(entry.name);
  assert.deepEqual(names, ["snapshot.db"]);
  const header = (await Deno.readFile(path)).subarray(18, 20);
  assert.deepEqual([...header], [1, 1], "rollback journal, not WAL");
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const table = db.prepare("select sql from sqlite_schema where name = 'backup_seal'").get();
    assert.equal(table?.sql, SEAL_TABLE_SQL);
  } finally {
    db.close();
  }
  assert.equal(await digestOf(path), before);
  assert.deepEqual(await verify(path, new BackupSealer(key)), {
    status: "valid",
    sealedAt: new Date(SEALED_AT),
  });
});

Deno.test("verify() refuses another key, a changed row and a changed seal; an unsealed file is unsealed", async () => {
  await using dir = await tempDir("keycast-seal-test-");
  const key = crypto.getRandomValues(new Uint8Array(32));
  const sealer = new BackupSealer(key);
  const sealed = async (name: string, change: string) => {
    const path = join(dir.path, name);
    makeDb(path, `${TABLES} insert into t values (1, 'x');`);
    await sealer.seal(path, SEALED_AT);
    if (change) makeDb(path, change);
    return path;
  };
  const mismatch = { status: "invalid", why: "its seal does not match what it holds" };

  const other = new BackupSealer(crypto.getRandomValues(new Uint8Array(32)));
  assert.deepEqual(await verify(await sealed("other-key.db", ""), other), mismatch);
  assert.deepEqual(
    await verify(await sealed("row.db", "update t set b = 'y'"), sealer),
    mismatch,
  );
  assert.deepEqual(
    await verify(
      await sealed("mac.db", `update backup_seal set mac = '${"0".repeat(64)}'`),
      sealer,
    ),
    mismatch,
  );
  assert.deepEqual(
    await verify(await sealed("version.db", "update backup_seal set version = 2"), sealer),
    { status: "unknown-version", version: "2" },
  );
  assert.deepEqual(
    await verify(await sealed("mac-text.db", "update backup_seal set mac = 'not hex'"), sealer),
    { status: "invalid", why: "its seal is malformed" },
  );
  assert.deepEqual(await verify(await sealed("unsealed.db", "drop table backup_seal"), sealer), {
    status: "unsealed",
  });
  const recreated = await sealed(
    "recreated.db",
    "drop table backup_seal; create table backup_seal (version, sealed_at, mac)",
  );
  assert.deepEqual(await verify(recreated, sealer), {
    status: "invalid",
    why: "its backup_seal table is not keycast's",
  });
});
