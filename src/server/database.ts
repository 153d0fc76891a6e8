/**
 * The database part of a start, shared by `serve` and `keycast migrate` (both hold the data dir
 * lock already), in this order:
 *
 * 1. the master key is read when it exists — its file's permissions are checked before any
 *    database is created;
 * 2. the database is opened (an unreachable PostgreSQL is waited for, `startup.ts`), not migrated;
 * 3. PostgreSQL: the instance lock (`instance_lock.ts`), so nothing below runs beside a keycast
 *    that serves the database (`serve --cluster` shares the lock with the other instances, and
 *    its migrations wait for a lock of their own; `keycast migrate` always takes it exclusively,
 *    `KEYCAST_CLUSTER` or not, so it never migrates beneath live instances);
 * 4. the master key is checked against the database as it is, migrated or not (a missing key file
 *    is created only for a database without secrets) — a wrong key never migrates anything;
 * 5. the migrations run, and the key's check value is stored if the schema had no place for it.
 */
import type { Config } from "../config/config.ts";
import { DatabaseUnavailableError, type Db } from "../db/db.ts";
import { migrate } from "../db/migrate.ts";
import type { Log } from "../log.ts";
import type { Vault } from "../vault/vault.ts";
import { type InstanceLockOptions, lockDatabase, withMigrationLock } from "./instance_lock.ts";
import { openMasterKey, readMasterKey, recordMasterKeyCheck } from "./master_key.ts";
import { openDatabaseAtStart, redactedDatabase, StartupError } from "./startup.ts";

/** An open, locked, migrated database and the master key checked against it. */
export interface CheckedDatabase extends AsyncDisposable {
  db: Db;
  /** Migrations this start applied. */
  applied: string[];
  /** The master key; the caller zeroes it once workers have it. */
  key: Uint8Array;
  /** A vault over the master key. */
  vault: Vault;
}

/** Options of {@link openCheckedDatabase}. */
export interface CheckedDatabaseOptions {
  /** What the refusal of a locked database says cannot be done. Default "start". */
  action?: InstanceLockOptions["action"];
  /** Called once when the PostgreSQL instance lock is lost (see `instance_lock.ts`). */
  onLockLost?: () => void;
  /** Longest wait of a cluster instance for the migration lock, in ms. Default 300_000. */
  migrationLockTimeoutMs?: number;
}

/** Opens, locks, checks and migrates the configured database (see the module doc). */
export async function openCheckedDatabase(
  config: Config,
  log: Log,
  options: CheckedDatabaseOptions = {},
): Promise<CheckedDatabase> {
  const loaded = await readMasterKey(config);
  await using stack = new AsyncDisposableStack();
  stack.defer(() => void loaded?.key.fill(0));
  const db = stack.use(await openDatabaseAtStart(config, log));
  // Only a serving cluster instance shares the lock: migrate keeps every instance out.
  const clusterServe = config.cluster && (options.action ?? "start") === "start";
  if (config.databaseUrl) {
    stack.use(
      await lockDatabase(config.databaseUrl, log, {
        action: options.action,
        onLost: options.onLockLost,
        shared: clusterServe,
      }),
    );
  }
  const opened = await step(
    "check the master key against",
    config,
    () => openMasterKey(config, db, log, loaded),
  );
  stack.defer(() => void opened.key.fill(0));
  const { databaseUrl } = config;
  const applied = await step(
    "migrate",
    config,
    () =>
      clusterServe && databaseUrl
        ? withMigrationLock(databaseUrl, () => migrate(db), {
          timeoutMs: options.migrationLockTimeoutMs,
        })
        : migrate(db),
  );
  if (opened.check.status === "unrecorded") {
    await step(
      "check the master key against",
      config,
      () => recordMasterKeyCheck(config, db, log, opened),
    );
  }
  const resources = stack.move();
  return {
    db,
    applied,
    key: opened.key,
    vault: opened.vault,
    [Symbol.asyncDispose]: () => resources.disposeAsync(),
  };
}

/** Runs `fn`; a failure that is not a {@link StartupError} becomes one naming `what` it did. */
async function step<T>(what: string, config: Config, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error: unknown) {
    if (error instanceof StartupError) throw error;
    const reason = error instanceof DatabaseUnavailableError
      ? error.reason
      : error instanceof Error
      ? error.message
      : String(error);
    throw new StartupError(
      `Cannot ${what} the database at ${redactedDatabase(config.databaseUrl)}: ${reason}`,
      { cause: error, exitCode: 1 },
    );
  }
}
