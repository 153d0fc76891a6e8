/**
 * Schema migrations: `migrations/<engine>/NNNN_name.sql`, one file per engine per migration
 * (the two engines' SQL differs in types and checks; `migrate.test.ts` checks that both end with
 * the same schema). Applied in order, each in its own transaction, recorded in
 * `schema_migrations`. On PostgreSQL a transaction-scoped advisory lock serializes instances that
 * start together; a migration already recorded by another instance is skipped, so restarts are
 * idempotent. The files are read through `import.meta.url`, which `deno compile --include
 * migrations` embeds in the binary.
 *
 * An SQLite migration that rebuilds a table others reference (SQLite cannot drop a constraint in
 * place) starts with the line `-- keycast: foreign-keys off`: it then runs the way SQLite's
 * documentation prescribes — foreign keys off outside the transaction, `foreign_key_check` before
 * the commit (any dangling reference rolls it back), foreign keys on again whatever happened.
 */
import { sql } from "kysely";
import type { Db, DbKind, Executor } from "./db.ts";

/** One migration file. */
export interface Migration {
  /** The number from the file name, e.g. 1 for `0001_initial.sql`. */
  version: number;
  /** The file name. */
  name: string;
  /** The SQL to run. */
  sql: string;
}

/** Directory holding the migration files of each engine. */
export const MIGRATIONS_DIR = new URL("../../migrations/", import.meta.url);

/** Advisory lock key shared by every keycast instance migrating the same PostgreSQL database. */
const MIGRATION_LOCK_KEY = 7_341_029_118;
const FILE_PATTERN = /^(\d{4})_[a-z0-9_]+\.sql$/;
const FOREIGN_KEYS_OFF = /^-- keycast: foreign-keys off\s*$/m;

const CREATE_TABLE: Record<DbKind, string> = {
  postgres: `create table if not exists schema_migrations (
    version integer primary key,
    name text not null,
    applied_at timestamptz not null default now()
  )`,
  sqlite: `create table if not exists schema_migrations (
    version integer primary key not null,
    name text not null,
    applied_at integer not null
  ) strict`,
};

/** Reads every migration file of `kind` in version order; rejects duplicates and stray names. */
export async function readMigrations(
  kind: DbKind,
  dir: URL = MIGRATIONS_DIR,
): Promise<Migration[]> {
  const engineDir = new URL(`${kind}/`, dir);
  const migrations: Migration[] = [];
  for await (const entry of Deno.readDir(engineDir)) {
    if (!entry.isFile || !entry.name.endsWith(".sql")) continue;
    const match = FILE_PATTERN.exec(entry.name);
    if (!match) {
      throw new Error(`Cannot use migration "${entry.name}": name it NNNN_snake_case.sql`);
    }
    const text = await Deno.readTextFile(new URL(entry.name, engineDir));
    migrations.push({ version: Number(match[1]), name: entry.name, sql: text });
  }
  migrations.sort((a, b) => a.version - b.version);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version === migrations[i - 1]!.version) {
      throw new Error(`Cannot migrate: two files share version ${migrations[i]!.version}`);
    }
  }
  return migrations;
}

/** Applies pending migrations and returns the names of those this call applied. */
export async function migrate(db: Db, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? await readMigrations(db.kind);
  await db.transaction(async (tx) => {
    await lock(db, tx);
    await sql.raw(CREATE_TABLE[db.kind]).execute(tx);
  });
  const applied: string[] = [];
  for (const migration of all) {
    const rebuild = db.kind === "sqlite" && FOREIGN_KEYS_OFF.test(migration.sql);
    if (rebuild) await sql`pragma foreign_keys = off`.execute(db.kysely);
    try {
      const ran = await db.transaction(async (tx) => {
        await lock(db, tx);
        const done = await tx.selectFrom("schema_migrations").select("version")
          .where("version", "=", migration.version).executeTakeFirst();
        if (done) return false;
        for (const statement of splitStatements(migration.sql)) {
          await sql.raw(statement).execute(tx);
        }
        if (rebuild) await checkForeignKeys(tx, migration.name);
        await tx.insertInto("schema_migrations")
          .values({ version: migration.version, name: migration.name, applied_at: new Date() })
          .execute();
        return true;
      });
      if (ran) applied.push(migration.name);
    } finally {
      if (rebuild) await sql`pragma foreign_keys = on`.execute(db.kysely);
    }
  }
  return applied;
}

/**
 * Whether the table `name` exists (PostgreSQL: on the search path), for code that must read a
 * database before it is migrated, such as the master key check.
 */
export async function hasTable(db: Db, name: string): Promise<boolean> {
  const found = db.kind === "postgres"
    ? await sql<{ found: boolean }>`select to_regclass(${name}) is not null as found`
      .execute(db.kysely)
    : await sql<{ found: number }>`select count(*) as found from sqlite_schema
        where type = 'table' and name = ${name}`.execute(db.kysely);
  return Boolean(Number(found.rows[0]?.found ?? 0));
}

/** Throws (rolling the migration back) when any row references a row that does not exist. */
async function checkForeignKeys(tx: Executor, name: string): Promise<void> {
  const dangling = await sql<{ table: string; parent: string }>`pragma foreign_key_check`
    .execute(tx);
  const first = dangling.rows[0];
  if (first) {
    throw new Error(
      `Cannot apply migration ${name}: ${dangling.rows.length} rows of ${first.table} reference ` +
        `missing rows of ${first.parent}`,
    );
  }
}

/** Serializes migrating instances (PostgreSQL); SQLite's `BEGIN IMMEDIATE` already does. */
async function lock(db: Db, tx: Executor): Promise<void> {
  if (db.kind === "postgres") {
    await sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK_KEY)})`.execute(tx);
  }
}

/**
 * Splits a migration into statements on `;` at line ends, since the drivers run one statement at
 * a time. Migrations therefore keep one statement per `;`-terminated block and avoid `;` at a
 * line end inside a statement.
 */
export function splitStatements(text: string): string[] {
  const withoutComments = text.split("\n").filter((line) => !line.trim().startsWith("--")).join(
    "\n",
  );
  return withoutComments.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter((s) => s.length > 0);
}
