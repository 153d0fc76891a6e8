/**
 * Schema migrations: `migrations/NNNN_name.sql`, applied in order, each in its own transaction,
 * recorded in `schema_migrations`. A transaction-scoped advisory lock serializes instances that
 * start together; a migration already recorded by another instance is skipped, so restarts are
 * idempotent. The files are read through `import.meta.url`, which `deno compile --include
 * migrations` embeds in the binary.
 */
import type { Db } from "./db.ts";

/** One migration file. */
export interface Migration {
  /** The number from the file name, e.g. 1 for `0001_initial.sql`. */
  version: number;
  /** The file name. */
  name: string;
  /** The SQL to run. */
  sql: string;
}

/** Directory holding the migration files. */
export const MIGRATIONS_DIR = new URL("../../migrations/", import.meta.url);

/** Advisory lock key shared by every keycast instance migrating the same database. */
const MIGRATION_LOCK_KEY = 7_341_029_118;
const FILE_PATTERN = /^(\d{4})_[a-z0-9_]+\.sql$/;

/** Reads every migration file in version order; rejects duplicate versions and stray names. */
export async function readMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile || !entry.name.endsWith(".sql")) continue;
    const match = FILE_PATTERN.exec(entry.name);
    if (!match) {
      throw new Error(`Cannot use migration "${entry.name}": name it NNNN_snake_case.sql`);
    }
    const sql = await Deno.readTextFile(new URL(entry.name, dir));
    migrations.push({ version: Number(match[1]), name: entry.name, sql });
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
  const all = migrations ?? await readMigrations();
  await db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await tx.query(
      `create table if not exists schema_migrations (
        version integer primary key,
        name text not null,
        applied_at timestamptz not null default now()
      )`,
    );
  });
  const applied: string[] = [];
  for (const migration of all) {
    const ran = await db.transaction(async (tx) => {
      await tx.query(`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      const done = await tx.query("select 1 from schema_migrations where version = $1", [
        migration.version,
      ]);
      if (done.length > 0) return false;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query("insert into schema_migrations (version, name) values ($1, $2)", [
        migration.version,
        migration.name,
      ]);
      return true;
    });
    if (ran) applied.push(migration.name);
  }
  return applied;
}

/**
 * Splits a migration into statements on `;` at line ends, since parameterized query protocols run
 * one statement at a time. Migrations therefore keep one statement per `;`-terminated block and
 * avoid `;` at a line end inside function bodies.
 */
export function splitStatements(sql: string): string[] {
  const withoutComments = sql.split("\n").filter((line) => !line.trim().startsWith("--")).join(
    "\n",
  );
  return withoutComments.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter((s) => s.length > 0);
}
