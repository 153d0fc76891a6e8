/**
 * `keycast restore FILE`: puts a backup (`keycast backup`) in place as the data dir's embedded
 * database, with the server stopped. The database in the data dir changes only once every check
 * passed, each failing with one line ({@link RestoreError}):
 *
 * 1. restore is for the embedded database: with DATABASE_URL set it refuses (use pg_restore);
 * 2. the file is an SQLite database with no WAL or journal beside it, and the master key loads
 *    (it is never created here);
 * 3. the data dir lock (a running `serve` holds it), and no database there yet unless `force`;
 * 4. a private copy in `<data-dir>/.restore-*` passes the read-only checks before anything in it
 *    can run or be written (`restore_inspect.ts`: no trigger, view or virtual table, keycast's
 *    schema at a version no newer than this keycast, `integrity_check`, the master key check
 *    value, and the seal the server put on the backup — an unsealed file only with
 *    `trustUnsealed`), all within `checkTimeoutMs`; then it is migrated and its secrets must
 *    open with this master key (`restore_check.ts`);
 * 5. a database already there is kept as `keycast.db.before-restore-<time>` (its WAL with it),
 *    and the copy is renamed into place, mode 0600.
 */
import { join } from "node:path";
import type { Config } from "../config/config.ts";
import { SQLITE_FILE } from "../db/open.ts";
import { fileTimestamp } from "../domain/backup.ts";
import { loadMasterKey, MasterKeyError, MasterKeyMissingError } from "../vault/master_key.ts";
import {
  type BackupContents,
  checkAndMigrate,
  checkBackupFile,
  describeFileError,
  exists,
  RestoreError,
} from "./restore_check.ts";
import { inspectBackup } from "./restore_inspect.ts";
import { lockDataDir, prepareDataDir, StartupError } from "./startup.ts";

export { RestoreError } from "./restore_check.ts";

/** Prefix of the staging directories inside the data dir. */
const STAGING_PREFIX = ".restore-";
/** Bytes copied per read. */
const COPY_CHUNK_BYTES = 256 * 1024;
/** Files SQLite keeps beside a database, moved aside with it. */
const SIDE_FILES = ["-wal", "-shm", "-journal"] as const;

/** Default time the checks of a backup may take, in ms (10 min). */
export const RESTORE_CHECK_TIMEOUT_MS = 10 * 60_000;

/** What to restore. */
export interface RestoreOptions {
  /** Path of the backup file. */
  file: string;
  /** Replace a database already in the data dir (it is kept aside). Default false. */
  force?: boolean;
  /** Accept a backup without a seal (from a keycast before sealing). Default false. */
  trustUnsealed?: boolean;
  /** Time the checks of the file may take, in ms. Default {@link RESTORE_CHECK_TIMEOUT_MS}. */
  checkTimeoutMs?: number;
  /** Wall clock in ms, for the name of the kept database. Default `Date.now`. */
  now?: () => number;
}

/** What {@link restoreBackup} put in place. */
export interface RestoreResult extends BackupContents {
  /** Path of the restored database. */
  path: string;
  /** Where the database that was there before went; undefined when there was none. */
  keptAs: string | undefined;
  /** True when the backup's seal was verified; false for an unsealed one (`trustUnsealed`). */
  sealed: boolean;
}

/** Restores `options.file` into `config.dataDir` (see the module doc). */
export async function restoreBackup(
  config: Config,
  options: RestoreOptions,
): Promise<RestoreResult> {
  if (config.databaseUrl !== undefined) {
    throw new RestoreError(
      "Cannot restore: keycast restore is for the embedded database, and DATABASE_URL names a " +
        "PostgreSQL database; restore a pg_dump archive with pg_restore instead " +
        '(pg_restore --clean --dbname "$DATABASE_URL" keycast.dump)',
    );
  }
  const file = options.file;
  await checkBackupFile(file);
  const { key, where } = await loadKey(config);
  try {
    using _lock = await startupStep(async () => {
      await prepareDataDir(config.dataDir);
      return await lockDataDir(config.dataDir, "restore");
    });
    await removeStagingLeftovers(config.dataDir);
    const target = join(config.dataDir, SQLITE_FILE);
    if (!options.force && await exists(target)) {
      throw new RestoreError(
        `Cannot restore into "${config.dataDir}": it already has a database (${SQLITE_FILE}); ` +
          `pass --force to replace it (the current one is kept as ${SQLITE_FILE}.before-restore-` +
          "<time>), or choose another --data-dir",
      );
    }
    const staging = await Deno.makeTempDir({ dir: config.dataDir, prefix: STAGING_PREFIX });
    try {
      const staged = join(staging, SQLITE_FILE);
      await copyPrivate(file, staged);
      const { migrations, sealed } = await inspectBackup(staged, {
        file,
        key,
        where,
        trustUnsealed: options.trustUnsealed ?? false,
        timeoutMs: options.checkTimeoutMs ?? RESTORE_CHECK_TIMEOUT_MS,
        scratchDir: staging,
      });
      const found = await checkAndMigrate(staged, file, key, where, migrations);
      const stamp = fileTimestamp(new Date((options.now ?? Date.now)()));
      const kept = await keepAside(config.dataDir, stamp);
      try {
        await Deno.rename(staged, target);
      } catch (error: unknown) {
        await kept.undo();
        throw new RestoreError(
          `Cannot put the backup in place at "${target}": ${describeFileError(error)}`,
          1,
          { cause: error },
        );
      }
      await syncDir(config.dataDir);
      return { path: target, ...found, keptAs: kept.path, sealed };
    } finally {
      await Deno.remove(staging, { recursive: true }).catch(() => undefined);
    }
  } finally {
    key.fill(0);
  }
}

/** The master key, from KEYCAST_MASTER_KEY or the key file (never created here). */
async function loadKey(config: Config): Promise<{ key: Uint8Array; where: string }> {
  try {
    const loaded = await loadMasterKey({
      fromEnv: config.masterKeyBase64,
      file: config.masterKeyFile,
      create: false,
    });
    const where = loaded.source === "env" ? "KEYCAST_MASTER_KEY" : `"${config.masterKeyFile}"`;
    return { key: loaded.key, where };
  } catch (error: unknown) {
    if (error instanceof MasterKeyMissingError) {
      throw new RestoreError(
        `Cannot restore: the master key file "${config.masterKeyFile}" does not exist; put the ` +
          "master key of the server the backup was taken from there, or set KEYCAST_MASTER_KEY " +
          "(backups do not contain it)",
        2,
        { cause: error },
      );
    }
    if (error instanceof MasterKeyError) throw new RestoreError(error.message, 2, { cause: error });
    throw error;
  }
}

/**
 * Moves `keycast.db` and the files SQLite keeps beside it (a WAL that belongs to the old database
 * must never meet the new one) to `keycast.db.before-restore-<stamp>…`; `undo` moves them back.
 */
async function keepAside(
  dataDir: string,
  stamp: string,
): Promise<{ path: string | undefined; undo(): Promise<void> }> {
  const base = join(dataDir, SQLITE_FILE);
  let kept = `${base}.before-restore-${stamp}`;
  for (let n = 2; await exists(kept); n++) kept = `${base}.before-restore-${stamp}-${n}`;
  const moved: [string, string][] = [];
  try {
    for (const suffix of ["", ...SIDE_FILES]) {
      if (!await exists(base + suffix)) continue;
      await Deno.rename(base + suffix, kept + suffix);
      moved.push([base + suffix, kept + suffix]);
    }
  } catch (error: unknown) {
    for (const [from, to] of moved) await Deno.rename(to, from);
    throw new RestoreError(
      `Cannot keep the current database aside as "${kept}": ${describeFileError(error)}`,
      1,
      { cause: error },
    );
  }
  return {
    path: moved.some(([from]) => from === base) ? kept : undefined,
    undo: async () => {
      for (const [from, to] of moved) await Deno.rename(to, from);
    },
  };
}

/** Copies `from` to the new file `to` with mode 0600, synced to disk. */
async function copyPrivate(from: string, to: string): Promise<void> {
  try {
    using source = await Deno.open(from, { read: true });
    using target = await Deno.open(to, { write: true, createNew: true, mode: 0o600 });
    const buffer = new Uint8Array(COPY_CHUNK_BYTES);
    for (let read = await source.read(buffer); read !== null; read = await source.read(buffer)) {
      for (let offset = 0; offset < read;) {
        offset += await target.write(buffer.subarray(offset, read));
      }
    }
    await target.sync();
  } catch (error: unknown) {
    throw new RestoreError(
      `Cannot copy "${from}" into the data directory: ${describeFileError(error)}`,
      1,
      {
        cause: error,
      },
    );
  }
}

/**
 * Flushes `dir`'s entries (the rename) to disk, best effort: the restore is done either way, and
 * some systems (Windows) cannot open a directory; there the OS flushes it in its own time.
 */
async function syncDir(dir: string): Promise<void> {
  try {
    using handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch (_error: unknown) {
    // Nothing to undo and nothing the user must do: the database is in place.
  }
}

/** Removes the staging directories of a restore that died; call it holding the lock. */
async function removeStagingLeftovers(dataDir: string): Promise<void> {
  for await (const entry of Deno.readDir(dataDir)) {
    if (entry.isDirectory && entry.name.startsWith(STAGING_PREFIX)) {
      await Deno.remove(join(dataDir, entry.name), { recursive: true });
    }
  }
}

/** Runs a step shared with `serve`, turning its {@link StartupError} into a {@link RestoreError}. */
async function startupStep<T>(step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error: unknown) {
    if (error instanceof StartupError) {
      throw new RestoreError(error.message, error.exitCode, { cause: error });
    }
    throw error;
  }
}
