/**
 * The schema checks of a backup (`restore_inspect.ts` runs them first, on a read-only
 * connection): no trigger, view or virtual table; keycast's own `schema_migrations`, recording
 * keycast's first migrations and none newer than this keycast; and exactly the schema those
 * migrations give a fresh database. Past them, reading the file runs nothing it declares.
 */
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { sql } from "kysely";
import { migrate, type Migration, readMigrations } from "../db/migrate.ts";
import { openSqlite } from "../db/sqlite.ts";
import { SEAL_TABLE } from "./backup_seal.ts";
import { clip, notBackup, RestoreError } from "./restore_check.ts";

/** One row of `sqlite_schema`. */
export interface SchemaEntry {
  /** `table`, `index`, `view` or `trigger`. */
  type: string;
  /** The object's name. */
  name: string;
  /** The table it belongs to (its own name for a table). */
  tbl_name: string;
  /** Its CREATE statement as SQLite keeps it; null for automatic indexes. */
  sql: string | null;
}

/** Tables SQLite itself creates when a database is analyzed; allowed with exactly this text. */
const SQLITE_STAT_TABLES = new Set([
  "CREATE TABLE sqlite_stat1(tbl,idx,stat)",
  "CREATE TABLE sqlite_stat4(tbl,idx,neq,nlt,ndlt,sample)",
]);

/**
 * Checks the schema of the backup `file` open (read-only) as `db`, building fresh databases in
 * `scratchDir`; returns it and the migrations the file records.
 */
export async function checkSchema(
  db: DatabaseSync,
  file: string,
  scratchDir: string,
): Promise<{ schema: SchemaEntry[]; known: Migration[]; applied: Migration[] }> {
  const schema = readSchema(db);
  refuseActiveObjects(schema, file);
  const known = await readMigrations("sqlite");
  const latest = await freshSchema(scratchDir, known);
  const applied = recordedMigrations(db, schema, latest, known, file);
  const fresh = applied.length === known.length ? latest : await freshSchema(scratchDir, applied);
  compareSchemas(schema, fresh, file);
  return { schema, known, applied };
}

function readSchema(db: DatabaseSync): SchemaEntry[] {
  return db.prepare("select type, name, tbl_name, sql from sqlite_schema").all().map((row) => ({
    type: String(row.type),
    name: String(row.name),
    tbl_name: String(row.tbl_name),
    sql: typeof row.sql === "string" ? row.sql : null,
  }));
}

/** Refuses triggers, views and virtual tables: keycast's migrations create none. */
function refuseActiveObjects(schema: SchemaEntry[], file: string): void {
  for (const entry of schema) {
    const what = entry.type === "trigger"
      ? `a trigger "${entry.name}" on "${entry.tbl_name}"`
      : entry.type === "view"
      ? `a view "${entry.name}"`
      : entry.type === "table" && /^\s*create\s+virtual\b/i.test(entry.sql ?? "")
      ? `a virtual table "${entry.name}"`
      : undefined;
    if (what) {
      throw new RestoreError(
        `Cannot restore "${file}": it holds ${clip(what, 120)}, which keycast never creates; ` +
          "the file was changed after the backup was taken",
      );
    }
  }
}

/**
 * The migrations recorded in the file, once its `schema_migrations` — the very table keycast
 * creates (as in `latest`), so reading it runs nothing — proved it a keycast database no newer
 * than this keycast, whose migrations are `known`.
 */
function recordedMigrations(
  db: DatabaseSync,
  schema: SchemaEntry[],
  latest: SchemaEntry[],
  known: Migration[],
  file: string,
): Migration[] {
  const table = schema.find((entry) => entry.name === "schema_migrations");
  if (table?.type !== "table") throw notBackup(file, "it has no schema_migrations");
  const expected = latest.find((entry) => entry.name === "schema_migrations");
  if (table.sql !== expected?.sql) throw notBackup(file, "its schema_migrations is not keycast's");
  const recorded = db.prepare("select version, name from schema_migrations order by version")
    .all();
  if (recorded.length === 0) throw notBackup(file, "no keycast migration was ever applied to it");
  const newest = known.at(-1)?.version ?? 0;
  const applied: Migration[] = [];
  for (const { version, name } of recorded) {
    if (typeof version !== "number" || !Number.isSafeInteger(version)) {
      throw notBackup(file, "its schema_migrations is not keycast's");
    }
    if (version > newest) {
      throw new RestoreError(
        `Cannot restore "${file}": it was taken by a newer keycast (schema version ${version}, ` +
          `this one knows up to ${newest}); restore it with that version or a newer one`,
      );
    }
    const migration = known.find((candidate) => candidate.version === version);
    if (migration === undefined || migration.name !== name) {
      throw notBackup(file, `its migration ${version} is not keycast's`);
    }
    // keycast applies its migrations in order: the file's are the first ones, none missing.
    const next = known[applied.length];
    if (migration !== next) {
      throw notBackup(file, `its migrations skip keycast's migration ${next?.version}`);
    }
    applied.push(migration);
  }
  return applied;
}

/** The schema of a fresh database migrated with exactly `migrations`, built in `dir`. */
async function freshSchema(dir: string, migrations: Migration[]): Promise<SchemaEntry[]> {
  const path = join(dir, "fresh.db");
  const db = await openSqlite({ path });
  try {
    await migrate(db, migrations);
    const rows = await sql<SchemaEntry>`select type, name, tbl_name, sql from sqlite_schema`
      .execute(db.kysely);
    return rows.rows;
  } finally {
    await db.close();
    for (const suffix of ["", "-wal", "-shm", "-journal"]) {
      await Deno.remove(path + suffix).catch(() => undefined);
    }
  }
}

/** Refuses any table, index or other object that differs from keycast's `fresh` schema. */
function compareSchemas(schema: SchemaEntry[], fresh: SchemaEntry[], file: string): void {
  const expected = new Map(fresh.map((entry) => [entry.name, entry]));
  const seen = new Set<string>();
  const refuse = (why: string) =>
    new RestoreError(
      `Cannot restore "${file}": its schema is not the one keycast's migrations create ` +
        `(${clip(why, 120)}); the file was changed after the backup was taken`,
    );
  for (const entry of schema) {
    if (entry.type === "table" && entry.name === SEAL_TABLE) continue; // checked with the seal
    if (entry.type === "table" && SQLITE_STAT_TABLES.has(entry.sql ?? "")) continue;
    const wanted = expected.get(entry.name);
    if (wanted === undefined) throw refuse(`${entry.type} "${entry.name}" is not keycast's`);
    if (
      wanted.type !== entry.type || wanted.tbl_name !== entry.tbl_name || wanted.sql !== entry.sql
    ) {
      throw refuse(`${entry.type} "${entry.name}" differs from keycast's`);
    }
    seen.add(entry.name);
  }
  const missing = fresh.find((entry) => !seen.has(entry.name));
  if (missing) throw refuse(`${missing.type} "${missing.name}" is missing`);
}
