import assert from "node:assert/strict";
import { join } from "node:path";
import { base64 } from "@scure/base";
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { Config } from "../config/config.ts";
import { migrate, readMigrations } from "../db/migrate.ts";
import { SQLITE_FILE } from "../db/open.ts";
import { openSqlite } from "../db/sqlite.ts";
import { silentLog } from "../log.ts";
import { checkMasterKey } from "../vault/key_check.ts";
import { Vault } from "../vault/vault.ts";
import { migrateDatabase } from "./migrate.ts";
import { StartupError } from "./startup.ts";
import { tempDir } from "../../tests/helpers/temp_dir.ts";

function config(dataDir: string, env: Record<string, string> = {}): Config {
  return new Config(new Map(Object.entries(env)), new Map([["data-dir", dataDir]]));
}

function keyEnv(key: Uint8Array): Record<string, string> {
  return { KEYCAST_MASTER_KEY: base64.encode(key) };
}

/** An embedded database at schema version 1 (no `vault_keys`) with one key sealed by `key`. */
async function versionOneDatabase(dataDir: string, key: Uint8Array): Promise<void> {
  await Deno.mkdir(dataDir, { mode: 0o700 });
  const db = await openSqlite({ path: join(dataDir, SQLITE_FILE) });
  try {
    await migrate(db, (await readMigrations("sqlite")).slice(0, 1));
    const secretKey = generateSecretKey();
    const pubkey = getPublicKey(secretKey);
    // Column by column: the keys repo writes columns later versions added.
    await db.kysely.insertInto("keys").values({
      id: crypto.randomUUID(),
      name: "alice",
      pubkey,
      secret_sealed: await (await Vault.create(key)).seal(secretKey, pubkey),
      created_at: new Date(),
    }).execute();
  } finally {
    await db.close();
  }
}

async function appliedVersions(dataDir: string): Promise<number[]> {
  await using db = await openSqlite({ path: join(dataDir, SQLITE_FILE) });
  const rows = await db.kysely.selectFrom("schema_migrations").select("version")
    .orderBy("version").execute();
  return rows.map((row) => row.version);
}

Deno.test("migrateDatabase() checks the master key before it migrates an older database", async (t) => {
  await using dir = await tempDir("keycast-migrate-test-");
  const dataDir = join(dir.path, "data");
  const key = crypto.getRandomValues(new Uint8Array(32));
  await versionOneDatabase(dataDir, key);
  const all = await readMigrations("sqlite");

  await t.step("another key is refused, and nothing is migrated", async () => {
    const other = crypto.getRandomValues(new Uint8Array(32));
    await assert.rejects(
      migrateDatabase(config(dataDir, keyEnv(other)), silentLog),
      (error: unknown) =>
        error instanceof StartupError &&
        /the master key in KEYCAST_MASTER_KEY is not the one this database's secrets/
          .test(error.message),
    );
    assert.deepEqual(await appliedVersions(dataDir), [1]);
  });

  await t.step("a missing key file is refused, and not created", async () => {
    await assert.rejects(
      migrateDatabase(config(dataDir), silentLog),
      (error: unknown) =>
        error instanceof StartupError && /is missing, but the database holds/.test(error.message),
    );
    await assert.rejects(Deno.stat(join(dataDir, "master.key")), Deno.errors.NotFound);
    assert.deepEqual(await appliedVersions(dataDir), [1]);
  });

  await t.step("the right key migrates, then stores its check value", async () => {
    const applied = await migrateDatabase(config(dataDir, keyEnv(key)), silentLog);
    assert.deepEqual(applied, all.slice(1).map((migration) => migration.name));
    await using db = await openSqlite({ path: join(dataDir, SQLITE_FILE) });
    const stored = await db.kysely.selectFrom("vault_keys").select("key_id").execute();
    assert.deepEqual(stored, [{ key_id: 1 }]);
    assert.equal((await checkMasterKey(db, await Vault.create(key), key)).status, "match");
  });
});

Deno.test("migrateDatabase() on a fresh data dir creates the key, migrates and records it", async () => {
  await using dir = await tempDir("keycast-migrate-test-");
  const dataDir = join(dir.path, "data");
  const applied = await migrateDatabase(config(dataDir), silentLog);
  assert.equal(applied.length, (await readMigrations("sqlite")).length);
  assert.equal((await Deno.stat(join(dataDir, "master.key"))).mode! & 0o777, 0o600);
  await using db = await openSqlite({ path: join(dataDir, SQLITE_FILE) });
  assert.equal((await db.kysely.selectFrom("vault_keys").selectAll().execute()).length, 1);
});

Deno.test("migrateDatabase() refuses a key file others can read before creating a database", async () => {
  await using dir = await tempDir("keycast-migrate-test-");
  const dataDir = join(dir.path, "data");
  await Deno.mkdir(dataDir, { mode: 0o700 });
  const file = join(dataDir, "master.key");
  await Deno.writeTextFile(file, `${base64.encode(new Uint8Array(32))}\n`, { mode: 0o600 });
  await Deno.chmod(file, 0o644);
  await assert.rejects(
    migrateDatabase(config(dataDir), silentLog),
    (error: unknown) => error instanceof StartupError && /chmod 600/.test(error.message),
  );
  await assert.rejects(Deno.stat(join(dataDir, SQLITE_FILE)), Deno.errors.NotFound);
});
