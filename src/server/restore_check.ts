/**
 * What makes a file a backup this keycast can restore, checked on a private copy (`restore.ts`):
 * an SQLite file that opens and passes `quick_check`; keycast's `schema_migrations`, none newer
 * than this keycast knows; then, once migrated, secrets sealed with the given master key
 * ({@link checkMasterKey}: the stored check value, else one sealed row must open).
 */
import { sql } from "kysely";
import { DatabaseUnavailableError, type Db } from "../db/db.ts";
import { migrate, type Migration, readMigrations } from "../db/migrate.ts";
import { openSqlite, SqliteOpenError } from "../db/sqlite.ts";
import { hasSqliteHeader, SQLITE_HEADER } from "../domain/backup.ts";
import { checkMasterKey } from "../vault/key_check.ts";
import { Vault } from "../vault/vault.ts";
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

/** Fails unless `file` is a regular file that starts like an SQLite database. */
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
}

/**
 * Checks the copy at `staged` of the backup `file` (see the module doc), migrates it, and counts
 * what it holds; `where` names the master key's source in messages.
 */
export async function checkAndMigrate(
  staged: string,
  file: string,
  key: Uint8Array,
  where: string,
): Promise<BackupContents> {
  let db: Db;
  try {
    db = await openSqlite({ path: staged });
  } catch (error: unknown) {
    if (error instanceof SqliteOpenError) throw notBackup(file, "SQLite cannot open it");
    throw error;
  }
  try {
    const problems = await sql<{ quick_check: string }>`pragma quick_check`.execute(db.kysely);
    const verdict = problems.rows.map((row) => row.quick_check).join("; ");
    if (verdict !== "ok") {
      throw new RestoreError(`Cannot restore "${file}": the file is damaged (${clip(verdict)})`);
    }
    const applied = await migrate(db, await knownMigrations(db, file));
    const vault = await Vault.create(key, KEY_ID);
    if ((await checkMasterKey(db, vault, key)).status === "mismatch") {
      throw new RestoreError(
        `Cannot restore "${file}": the master key in ${where} is not the one this backup's ` +
          "secrets were sealed with; use the master key of the server the backup was taken from",
      );
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

/**
 * This keycast's migrations, once the backup's `schema_migrations` proved it a keycast database
 * no newer than this keycast.
 */
async function knownMigrations(db: Db, file: string): Promise<Migration[]> {
  const known = await readMigrations("sqlite");
  const table = await sql<{ n: number }>`select count(*) as n from sqlite_schema
    where type = 'table' and name = 'schema_migrations'`.execute(db.kysely);
  if (Number(table.rows[0]?.n ?? 0) === 0) throw notBackup(file, "it has no schema_migrations");
  const recorded = await db.kysely.selectFrom("schema_migrations").select(["version", "name"])
    .orderBy("version").execute();
  if (recorded.length === 0) throw notBackup(file, "no keycast migration was ever applied to it");
  const latest = known.at(-1)?.version ?? 0;
  for (const { version, name } of recorded) {
    if (version > latest) {
      throw new RestoreError(
        `Cannot restore "${file}": it was taken by a newer keycast (schema version ${version}, ` +
          `this one knows up to ${latest}); restore it with that version or a newer one`,
      );
    }
    if (known.find((migration) => migration.version === version)?.name !== name) {
      throw notBackup(file, `its migration ${version} is not keycast's`);
    }
  }
  return known;
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

function notBackup(file: string, why: string): RestoreError {
  return new RestoreError(`Cannot restore "${file}": it is not a keycast backup (${why})`);
}

function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** A file operation's failure, in a few words for a message. */
export function describeFileError(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "it does not exist";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  return error instanceof Error ? error.message : String(error);
}
