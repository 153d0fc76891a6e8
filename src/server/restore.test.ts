import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { base64 } from "@scure/base";
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { sql } from "kysely";
import { Config } from "../config/config.ts";
import { migrate, readMigrations } from "../db/migrate.ts";
import { openSqlite } from "../db/sqlite.ts";
import { checkMasterKey } from "../vault/key_check.ts";
import { Vault } from "../vault/vault.ts";
import { BackupSealer } from "./backup_seal.ts";
import { restoreBackup, RestoreError } from "./restore.ts";
import { tempDir } from "../../tests/helpers/temp_dir.ts";

const FIXED_NOW = Date.parse("2099-01-02T03:04:05Z");

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/**
 * A backup file in `dir` holding one user key sealed with `masterKey`, with the master key check
 * value (`checked`) or without one (a backup from before the check existed), sealed as the server
 * seals its backups (`sealed`) or not (a backup from before sealing).
 */
async function makeBackup(
  dir: string,
  masterKey: Uint8Array,
  opts: { checked?: boolean; sealed?: boolean; name?: string; migrations?: number } = {},
): Promise<string> {
  const path = join(dir, opts.name ?? "backup.db");
  const db = await openSqlite({ path });
  try {
    await migrate(db, (await readMigrations("sqlite")).slice(0, opts.migrations));
    const vault = await Vault.create(masterKey);
    const secretKey = generateSecretKey();
    const pubkey = getPublicKey(secretKey);
    // Written column by column: the repo writes columns later versions added.
    await db.kysely.insertInto("keys").values({
      id: crypto.randomUUID(),
      name: "alice",
      pubkey,
      secret_sealed: await vault.seal(secretKey, pubkey),
      created_at: new Date(FIXED_NOW),
    }).execute();
    if (opts.checked ?? true) await checkMasterKey(db, vault, masterKey);
  } finally {
    await db.close();
  }
  if (opts.sealed ?? true) await new BackupSealer(masterKey).seal(path, FIXED_NOW);
  return path;
}

/** Runs `statements` on the backup at `path` directly, as someone holding the file could. */
function tamper(path: string, statements: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(statements);
  } finally {
    db.close();
  }
}

function config(dataDir: string, env: Record<string, string> = {}): Config {
  return new Config(new Map(Object.entries(env)), new Map([["data-dir", dataDir]]));
}

function keyEnv(key: Uint8Array): Record<string, string> {
  return { KEYCAST_MASTER_KEY: base64.encode(key) };
}

async function restoreError(promise: Promise<unknown>, what?: string): Promise<RestoreError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  }, what);
  assert.ok(caught instanceof RestoreError, `expected a RestoreError, got ${String(caught)}`);
  return caught;
}

Deno.test("restoreBackup() puts the backup in place, mode 0600, and counts what it holds", async () => {
  await using dir = await tempDir("keycast-restore-test-");
  const key = crypto.getRandomValues(new Uint8Array(32));
  const file = await makeBackup(dir.path, key);
  const dataDir = join(dir.path, "data");

  const restored = await restoreBackup(config(dataDir, keyEnv(key)), { file });
  assert.deepEqual(restored, {
    path: join(dataDir, "keycast.db"),
    keys: 1,
    authorizations: 0,
    revoked: 0,
    applied: [],
    keptAs: undefined,
    sealed: true,
  });
  assert.deepEqual(await entries(dataDir), ["keycast.db", "keycast.lock"]);
  assert.equal((await Deno.stat(restored.path)).mode! & 0o777, 0o600);
  await using db = await openSqlite({ path: restored.path });
  assert.equal((await checkMasterKey(db, await Vault.create(key), key)).status, "match");
});

Deno.test("restoreBackup() migrates an unsealed backup from an older keycast with trustUnsealed, then checks its key", async () => {
  await using dir = await tempDir("keycast-restore-test-");
  const key = crypto.getRandomValues(new Uint8Array(32));
  // Schema version 1, before sealing: no vault_keys table yet, so the key is proved by opening
  // the sealed row.
  const file = await makeBackup(dir.path, key, { checked: false, sealed: false, migrations: 1 });
  const dataDir = join(dir.path, "data");
  const refused = await restoreError(restoreBackup(config(dataDir, keyEnv(key)), { file }));
  assert.match(refused.message, /it is not sealed.*pass --trust-unsealed to restore it anyway/);
  assert.deepEqual(await entries(dataDir), ["keycast.lock"]);

  const restored = await restoreBackup(config(dataDir, keyEnv(key)), {
    file,
    trustUnsealed: true,
  });
  const all = await readMigrations("sqlite");
  assert.deepEqual(restored.applied, all.slice(1).map((migration) => migration.name));
  assert.equal(restored.keys, 1);
  assert.equal(restored.sealed, false);
  const wrong = join(dir.path, "again");
  const other = keyEnv(crypto.getRandomValues(new Uint8Array(32)));
  const error = await restoreError(
    restoreBackup(config(wrong, other), { file, trustUnsealed: true }),
  );
  assert.match(error.message, /is not the one this backup's secrets were sealed with/);
});

Deno.test("restoreBackup() reads the master key file of the data dir", async () => {
  await using dir = await tempDir("keycast-restore-test-");
  const key = crypto.getRandomValues(new Uint8Array(32));
  const file = await makeBackup(dir.path, key);
  const dataDir = join(dir.path, "data");
  await Deno.mkdir(dataDir, { mode: 0o700 });
  await Deno.writeTextFile(join(dataDir, "master.key"), `${base64.encode(key)}\n`, { mode: 0o600 });
  const restored = await restoreBackup(config(dataDir), { file });
  assert.equal(restored.keys, 1);
});

for (const checked of [true, false]) {
  Deno.test(`restoreBackup() with another master key fails and changes nothing (${checked ? "check value" : "no check value: a sealed row"})`, async () => {
    await using dir = await tempDir("keycast-restore-test-");
    // Without a check value, only an unsealed backup reaches the sealed row (the seal fails
    // first otherwise: see below).
    const file = await makeBackup(dir.path, crypto.getRandomValues(new Uint8Array(32)), {
      checked,
      sealed: checked,
    });
    const dataDir = join(dir.path, "data");
    const other = keyEnv(crypto.getRandomValues(new Uint8Array(32)));
    const error = await restoreError(
      restoreBackup(config(dataDir, other), { file, trustUnsealed: !checked }),
    );
    assert.equal(error.exitCode, 2);
    assert.equal(
      error.message,
      `Cannot restore "${file}": the master key in KEYCAST_MASTER_KEY is not the one this ` +
        "backup's secrets were sealed with; use the master key of the server the backup was " +
        "taken from",
    );
    assert.deepEqual(await entries(dataDir), ["keycast.lock"]);
  });
}

Deno.test("restoreBackup() with another master key and no check value: the seal names the key", async () => {
  await using dir = await tempDir("keycast-restore-test-");
  const file = await makeBackup(dir.path, crypto.getRandomValues(new Uint8Array(32)), {
    checked: false,
  });
  const dataDir = join(dir.path, "data");
  const other = keyEnv(crypto.getRandomValues(new Uint8Array(32)));
  const error = await restoreError(restoreBackup(config(dataDir, other), { file }));
  assert.equal(error.exitCode, 2);
  assert.equal(
    error.message,
    `Cannot restore "${file}": its seal does not match what it holds: it was changed after ` +
      "keycast sealed it (or sealed by a server with another master key); restore a backup " +
      "you trust",
  );
  assert.deepEqual(await entries(dataDir), ["keycast.lock"]);
});

Deno.test("restoreBackup() without a master key says where to put it and never creates one", async () => {
  await using dir = await tempDir("keycast-restore-test-");
  const file = await makeBackup(dir.path, crypto.getRandomValues(new Uint8Array(32)));
  const dataDir = join(dir.path, "data");
  const error = await restoreError(restoreBackup(config(dataDir), { file }));
  assert.equal(error.exitCode, 2);
  assert.match(
    error.message,
    /^Cannot restore: the master key file ".*master\.key" does not exist; put the master key of the server the backup was taken from there, or set KEYCAST_MASTER_KEY/,
  );
  assert.equal(await Deno.stat(dataDir).then(() => true, () => false), false);
});

Deno.test("restoreBackup() over an existing database needs force, then keeps the old one aside", async () => {
  await using dir = await tempDir("keycast-restore-test-");
  const key = crypto.getRandomValues(new Uint8Array(32));
  const file = await makeBackup(dir.path, key);
  const dataDir = join(dir.path, "data");
  await Deno.mkdir(dataDir);
  await Deno.writeTextFile(join(dataDir, "keycast.db"), "the old database");
  await Deno.writeTextFile(join(dataDir, "keycast.db-wal"), "the old database's WAL");

  const refused = await restoreError(restoreBackup(config(dataDir, keyEnv(key)), { file }));
  assert.equal(refused.exitCode, 2);
  assert.match(refused.message, /it already has a database \(keycast\.db\); pass --force/);
  assert.equal(await Deno.readTextFile(join(dataDir, "keycast.db")), "the old database");

  const restored = await restoreBackup(config(dataDir, keyEnv(key)), {
    file,
    force: true,
    now: () => FIXED_NOW,
  });
  const kept = join(dataDir, "keycast.db.before-restore-20990102T030405Z");
  assert.equal(restored.keptAs, kept);
  assert.equal(await Deno.readTextFile(kept), "the old database");
  assert.equal(await Deno.readTextFile(`${kept}-wal`), "the old database's WAL");
  assert.deepEqual(await entries(dataDir), [
    "keycast.db",
    "keycast.db.before-restore-20990102T030405Z",
    "keycast.db.before-restore-20990102T030405Z-wal",
    "keycast.lock",
  ]);
});

Deno.test("restoreBackup() refuses PostgreSQL, pointing at pg_restore", async () => {
  await using dir = await tempDir("keycast-restore-test-");
  const error = await restoreError(restoreBackup(
    config(join(dir.path, "data"), { DATABASE_URL: "postgres://keycast:hunter2@db/keycast" }),
    { file: join(dir.path, "backup.db") },
  ));
  assert.equal(error.exitCode, 2);
  assert.match(error.message, /is for the embedded database.*pg_restore/);
  assert.equal(error.message.includes("hunter2"), false);
});

Deno.test("restoreBackup() refuses files that are not keycast backups", async () => {
  await using dir = await tempDir("keycast-restore-test-");
  const key = crypto.getRandomValues(new Uint8Array(32));
  const dataDir = join(dir.path, "data");
  const text = join(dir.path, "notes.txt");
  await Deno.writeTextFile(text, "not a database at all, but long enough to have a header");
  const other = join(dir.path, "other.db");
  const db = await openSqlite({ path: other });
  await sql`create table notes (body text)`.execute(db.kysely);
  await db.close();
  const newer = await makeBackup(dir.path, key, { name: "newer.db" });
  const newerDb = await openSqlite({ path: newer });
  await newerDb.kysely.insertInto("schema_migrations")
    .values({ version: 9999, name: "9999_future.sql", applied_at: new Date() }).execute();
  await newerDb.close();

  const cases: [string, RegExp][] = [
    [join(dir.path, "missing.db"), /Cannot restore ".*missing\.db": it does not exist$/],
    [dir.path, /it is not a file$/],
    [text, /it is not a keycast backup \(it is not an SQLite database file\)$/],
    [other, /it is not a keycast backup \(it has no schema_migrations\)$/],
    [newer, /it was taken by a newer keycast \(schema version 9999, this one knows up to \d+\)/],
  ];
  for (const [file, message] of cases) {
    const error = await restoreError(restoreBackup(config(dataDir, keyEnv(key)), { file }));
    assert.equal(error.exitCode, 2, error.message);
    assert.match(error.message, message);
  }
  assert.deepEqual(await entries(dataDir), ["keycast.lock"]);
});

Deno.test("restoreBackup() refuses a sealed backup changed after sealing, before anything runs", async () => {
  await using dir = await tempDir("keycast-restore-test-");
  const key = crypto.getRandomValues(new Uint8Array(32));
  const dataDir = join(dir.path, "data");
  const attacker = getPublicKey(generateSecretKey());
  const changedSeal =
    /its seal does not match what it holds: it was changed after keycast sealed it/;
  const cases: [string, string, RegExp][] = [
    [
      "a row added",
      `insert into policies (id, name, rules, created_at, updated_at)
        values ('${crypto.randomUUID()}', 'mallory', '{}', 0, 0)`,
      changedSeal,
    ],
    [
      "an authorization added (not sealed: only secrets are)",
      `insert into authorizations (id, key_id, bunker_pubkey, bunker_secret_sealed, secret_hash)
        select '${crypto.randomUUID()}', id, '${attacker}', secret_sealed, '${"0".repeat(64)}'
        from keys`,
      changedSeal,
    ],
    ["a value changed", "update keys set name = 'mallory'", changedSeal],
    ["a row deleted", "delete from keys", changedSeal],
    [
      "schema_migrations redefined",
      "alter table schema_migrations add column extra text",
      /it is not a keycast backup \(its schema_migrations is not keycast's\)/,
    ],
    [
      "a migration's record deleted",
      "delete from schema_migrations where version = 1",
      /it is not a keycast backup \(its migrations skip keycast's migration 1\)/,
    ],
    ["the seal's time changed", "update backup_seal set sealed_at = sealed_at + 1", changedSeal],
    [
      "a second seal row",
      "insert into backup_seal select * from backup_seal",
      /its backup_seal table has 2 rows, not 1/,
    ],
    [
      "the seal removed",
      "drop table backup_seal",
      /it is not sealed, so nothing shows it is unchanged.*--trust-unsealed/,
    ],
    [
      // It would never end if it ran: a migration or the key check writes to these tables.
      "a trigger added",
      `create trigger stall after insert on vault_keys begin
        select count(*) from (with recursive n(i) as (select 1 union all select i + 1 from n)
        select i from n);
      end`,
      /it holds a trigger "stall" on "vault_keys", which keycast never creates; the file was changed/,
    ],
    [
      "a view added, its name made to break the line and drive the terminal",
      'create view "keys\n\u001b[2Jview" as select * from keys',
      /it holds a view "keys\\u000a\\u001b\[2Jview", which keycast never creates/,
    ],
    [
      "an index added",
      "create index keys_extra_idx on keys (created_at)",
      /its schema is not the one keycast's migrations create \(index "keys_extra_idx" is not keycast's\)/,
    ],
    [
      "a table added",
      "create table notes (body text)",
      /its schema is not the one keycast's migrations create \(table "notes" is not keycast's\)/,
    ],
  ];
  for (const [what, statements, message] of cases) {
    const file = await makeBackup(dir.path, key, { name: `${what.replaceAll(" ", "-")}.db` });
    tamper(file, statements);
    const error = await restoreError(restoreBackup(config(dataDir, keyEnv(key)), { file }), what);
    assert.equal(error.exitCode, 2, `${what}: ${error.message}`);
    assert.match(error.message, message, what);
    assert.ok(error.message.startsWith(`Cannot restore "${file}": `), what);
    assert.equal(error.message.includes("\n") || error.message.includes("\u001b"), false, what);
  }
  assert.deepEqual(await entries(dataDir), ["keycast.lock"]);
});

Deno.test("restoreBackup() refuses a backup with a WAL or journal beside it", async () => {
  await using dir = await tempDir("keycast-restore-test-");
  const key = crypto.getRandomValues(new Uint8Array(32));
  const file = await makeBackup(dir.path, key);
  const dataDir = join(dir.path, "data");
  for (const suffix of ["-wal", "-journal"]) {
    await Deno.writeTextFile(file + suffix, "the other half of the data");
    const error = await restoreError(restoreBackup(config(dataDir, keyEnv(key)), { file }));
    assert.equal(error.exitCode, 2);
    assert.equal(
      error.message,
      `Cannot restore "${file}": "${file}${suffix}" lies beside it, and SQLite would read it as ` +
        `part of the database, while a backup is one file; move "${file}${suffix}" away, or ` +
        "restore a file taken with keycast backup",
    );
    await Deno.remove(file + suffix);
  }
  assert.equal(await Deno.stat(dataDir).then(() => true, () => false), false);
  assert.equal((await restoreBackup(config(dataDir, keyEnv(key)), { file })).sealed, true);
});

Deno.test("restoreBackup() stops checking a file at its time limit", async () => {
  await using dir = await tempDir("keycast-restore-test-");
  const key = crypto.getRandomValues(new Uint8Array(32));
  const file = await makeBackup(dir.path, key);
  const dataDir = join(dir.path, "data");
  const error = await restoreError(
    restoreBackup(config(dataDir, keyEnv(key)), { file, checkTimeoutMs: 0 }),
  );
  assert.equal(error.exitCode, 2);
  assert.equal(
    error.message,
    `Cannot restore "${file}": checking it took longer than 0 ms, the most a restore allows`,
  );
  assert.deepEqual(await entries(dataDir), ["keycast.lock"]);
});

Deno.test("restoreBackup() leaves no seal table in the restored database", async () => {
  await using dir = await tempDir("keycast-restore-test-");
  const key = crypto.getRandomValues(new Uint8Array(32));
  const file = await makeBackup(dir.path, key);
  const restored = await restoreBackup(config(join(dir.path, "data"), keyEnv(key)), { file });
  await using db = await openSqlite({ path: restored.path });
  const tables = await sql<{ name: string }>`select name from sqlite_schema
    where name = 'backup_seal'`.execute(db.kysely);
  assert.deepEqual(tables.rows, []);
});
