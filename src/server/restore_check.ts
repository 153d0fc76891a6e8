/**
 * What makes a file a backup this keycast can restore. Before the copy: a regular file that
 * starts like an SQLite database, with no WAL or journal beside it. On the private copy
 * (`restore.ts`): the read-only checks of `restore_inspect.ts` (schema, integrity, master key
 * check value, seal), then — only then — the seal table is dropped, the copy migrated, and its
 * secrets proved sealed with the given master key ({@link checkMasterKey}: the stored check
 * value, else one sealed row must open).
 */
import { sql } from "kysely";
import { DatabaseUnavailableError, type Db } from "../db/db.ts";
import { migrate, type Migration } from "../db/migrate.ts";
import { openSqlite, SqliteOpenError } from "../db/sqlite.ts";
import { hasSqliteHeader, SQLITE_HEADER } from "../domain/backup.ts";
import { checkMasterKey } from "../vault/key_check.ts";
import { Vault } from "../vault/vault.ts";
import { SEAL_TABLE } from "./backup_seal.ts";
import { KEY_ID } from "./master_key.ts";

/**
 * A restore that cannot be done; the CLI prints the one-line message and exits with `exitCode`:
 * 2 for the arguments, the backup or the master key, 1 for the environment (the data dir is in
 * use, a file cannot be written).
 */
export class RestoreError extends Error {
  override name = "RestoreError";
  /** The process exit code. */
  readonly exitCode: number;

  constructor(message: string, exitCode = 2, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** What a checked backup holds. */
export interface BackupContents {
  /** User keys. */
  keys: number;
  /** Authorizations, revoked ones included. */
  authorizations: number;
  /** Of those, the revoked ones. */
  revoked: number;
  /** Migrations applied to it (it may come from an older keycast). */
  applied: string[];
}

/** Characters escaped before text from a file reaches a message (see {@link clip}). */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Files beside a database that SQLite reads as part of it: a backup never has one. */
const SIBLINGS = ["-wal", "-journal"] as const;

/**
 * Fails unless `file` is a regular file that starts like an SQLite database, with no WAL or
 * journal beside it (the rest of the data could hide there; a backup is one file).
 */
export async function checkBackupFile(file: string): Promise<void> {
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(file, { read: true });
  } catch (error: unknown) {
    throw new RestoreError(`Cannot restore "${file}": ${describeFileError(error)}`, 2, {
      cause: error,
    });
  }
  using _file = handle;
  if (!(await handle.stat()).isFile) {
    throw new RestoreError(`Cannot restore "${file}": it is not a file`);
  }
  const head = new Uint8Array(SQLITE_HEADER.byteLength);
  const read = await handle.read(head);
  if (read !== head.byteLength || !hasSqliteHeader(head)) {
    throw notBackup(file, "it is not an SQLite database file");
  }
  for (const suffix of SIBLINGS) {
    const sibling = file + suffix;
    if (!await exists(sibling)) continue;
    throw new RestoreError(
      `Cannot restore "${file}": "${sibling}" lies beside it, and SQLite would read it as part ` +
        `of the database, while a backup is one file; move "${sibling}" away, or restore a ` +
        "file taken with keycast backup",
    );
  }
}

/**
 * Migrates the copy at `staged` of the backup `file`, once `restore_inspect.ts` passed it (its
 * seal table dropped first), checks its secrets open with the master key, and counts what it
 * holds; `where` names the master key's source in messages.
 */
export async function checkAndMigrate(
  staged: string,
  file: string,
  key: Uint8Array,
  where: string,
  migrations: Migration[],
): Promise<BackupContents> {
  let db: Db;
  try {
    db = await openSqlite({ path: staged });
  } catch (error: unknown) {
    if (error instanceof SqliteOpenError) throw notBackup(file, "SQLite cannot open it", error);
    throw error;
  }
  try {
    await sql`drop table if exists ${sql.id(SEAL_TABLE)}`.execute(db.kysely);
    const applied = await migrate(db, migrations);
    const vault = await Vault.create(key, KEY_ID);
    if ((await checkMasterKey(db, vault, key)).status === "mismatch") {
      throw wrongMasterKey(file, where);
    }
    return { ...await counts(db), applied };
  } catch (error: unknown) {
    if (error instanceof DatabaseUnavailableError) {
      throw new RestoreError(`Cannot restore "${file}": ${error.reason}`, 2, { cause: error });
    }
    throw error;
  } finally {
    await db.close();
  }
}

async function counts(db: Db): Promise<{ keys: number; authorizations: number; revoked: number }> {
  const keys = await db.kysely.selectFrom("keys")
    .select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  const authorizations = await db.kysely.selectFrom("authorizations")
    .select((eb) => [
      eb.fn.countAll<number>().as("n"),
      eb.fn.count<number>("revoked_at").as("revoked"),
    ]).executeTakeFirstOrThrow();
  return {
    keys: Number(keys.n),
    authorizations: Number(authorizations.n),
    revoked: Number(authorizations.revoked),
  };
}

/** The refusal of a file that is not a keycast backup, saying why. */
export function notBackup(file: string, why: string, cause?: unknown): RestoreError {
  return new RestoreError(
    `Cannot restore "${file}": it is not a keycast backup (${why})`,
    2,
    cause === undefined ? undefined : { cause },
  );
}

/** The refusal of a master key other than the one the backup's secrets were sealed with. */
export function wrongMasterKey(file: string, where: string): RestoreError {
  return new RestoreError(
    `Cannot restore "${file}": the master key in ${where} is not the one this backup's ` +
      "secrets were sealed with; use the master key of the server the backup was taken from",
  );
}

/**
 * `text` from the file (names, SQLite's messages) made fit for a one-line message: control
 * characters escaped, so no name can break the line or drive the terminal; cut to `max`.
 */
export function clip(text: string, max = 200): string {
  const printable = text.replace(
    UNPRINTABLE,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}

/** Whether anything is at `path` (a dangling link counts). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error: unknown) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** A file operation's failure, in a few words for a message. */
export function describeFileError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "it does not exist";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  return error instanceof Error ? error.message : String(error);
}
