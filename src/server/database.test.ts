/**
 * The locks `openCheckedDatabase` takes on PostgreSQL: `keycast migrate` keeps every instance out
 * even with `KEYCAST_CLUSTER` set, and only a serving cluster instance migrates under the
 * migration lock (bounded).
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { base64 } from "@scure/base";
import { Config } from "../config/config.ts";
import { silentLog } from "../log.ts";
import { emptyPostgresDatabase, skipWithoutPostgres } from "../../tests/helpers/db.ts";
import { tempDir } from "../../tests/helpers/temp_dir.ts";
import { openCheckedDatabase } from "./database.ts";
import { lockDatabase, MIGRATION_LOCK_KEY } from "./instance_lock.ts";
import { StartupError } from "./startup.ts";

/** A config on the PostgreSQL database at `databaseUrl`, with `KEYCAST_CLUSTER=true`. */
function clusterConfig(databaseUrl: string, dataDir: string): Config {
  const env = new Map([
    ["DATABASE_URL", databaseUrl],
    ["KEYCAST_CLUSTER", "true"],
    ["KEYCAST_MASTER_KEY", base64.encode(crypto.getRandomValues(new Uint8Array(32)))],
  ]);
  const config = new Config(env, new Map([["data-dir", dataDir]]));
  assert.deepEqual(config.validate(), []);
  return config;
}

/** Holds the migration lock on its own session until disposed, as a migrating instance does. */
async function holdMigrationLock(databaseUrl: string): Promise<AsyncDisposable> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
  return { [Symbol.asyncDispose]: () => sql.end({ timeout: 1 }) };
}

Deno.test("openCheckedDatabase() for migrate refuses to run beside cluster instances, KEYCAST_CLUSTER or not", async () => {
  if (await skipWithoutPostgres()) return;
  await using database = await emptyPostgresDatabase();
  await using dir = await tempDir("keycast-database-test-");
  const config = clusterConfig(database.url, dir.path);
  const instance = await lockDatabase(database.url, silentLog, { shared: true });
  await assert.rejects(
    openCheckedDatabase(config, silentLog, { action: "migrate" }),
    (error: unknown) =>
      error instanceof StartupError &&
      /^Cannot migrate: keycast instances with --cluster are serving .*; stop them first$/
        .test(error.message),
  );
  await instance[Symbol.asyncDispose]();

  // With the instances gone it migrates, holding the lock exclusively meanwhile.
  await using migrating = await openCheckedDatabase(config, silentLog, { action: "migrate" });
  assert.ok(migrating.applied.length > 0);
  await assert.rejects(
    lockDatabase(database.url, silentLog, { shared: true }),
    (error: unknown) =>
      error instanceof StartupError && /a keycast without --cluster is serving/.test(error.message),
  );
  migrating.key.fill(0);
});

Deno.test("openCheckedDatabase() of a cluster instance waits a bounded time for the migration lock", async () => {
  if (await skipWithoutPostgres()) return;
  await using database = await emptyPostgresDatabase();
  await using dir = await tempDir("keycast-database-test-");
  const config = clusterConfig(database.url, dir.path);
  await using _lock = await holdMigrationLock(database.url);
  await assert.rejects(
    openCheckedDatabase(config, silentLog, { migrationLockTimeoutMs: 200 }),
    (error: unknown) =>
      error instanceof StartupError && error.exitCode === 1 &&
      /another keycast instance has been migrating it for more than 0.2 s/.test(error.message),
  );
  // `keycast migrate` holds the instance lock exclusively: it takes no migration lock (a short
  // bound all the same, so that a regression fails instead of waiting 5 minutes).
  await using migrated = await openCheckedDatabase(config, silentLog, {
    action: "migrate",
    migrationLockTimeoutMs: 2_000,
  });
  assert.ok(migrated.applied.length > 0);
  migrated.key.fill(0);
});
