/** Chooses the engine: PostgreSQL when a URL is configured, else SQLite in the data dir. */
import { sql } from "kysely";
import type { Db } from "./db.ts";
import { openSqlite } from "./sqlite.ts";

/** The embedded database's file name inside the data dir. */
export const SQLITE_FILE = "keycast.db";

/** Where the database is. */
export interface DatabaseTarget {
  /** PostgreSQL URL; undefined selects the embedded database. */
  databaseUrl?: string;
  /** Data directory; the embedded database is `<dataDir>/keycast.db`. */
  dataDir: string;
}

/**
 * Opens the configured database and checks that it answers; it is not migrated (`migrate.ts`
 * does that, once the caller holds its locks and checked its master key).
 */
export async function openDatabase(target: DatabaseTarget): Promise<Db> {
  let db: Db;
  if (target.databaseUrl) {
    // Loaded only when used: postgres.js costs ~60 ms of startup an embedded install never needs.
    const { openPostgres } = await import("./postgres.ts");
    db = openPostgres(target.databaseUrl);
  } else {
    await Deno.mkdir(target.dataDir, { recursive: true, mode: 0o700 });
    db = await openSqlite({ path: `${target.dataDir}/${SQLITE_FILE}` });
  }
  try {
    await sql`select 1`.execute(db.kysely);
    return db;
  } catch (error) {
    await db.close();
    throw error;
  }
}
