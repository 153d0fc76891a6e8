/** Chooses the adapter: PostgreSQL when a URL is configured, else PGlite under the data dir. */
import type { Db } from "./db.ts";
import { migrate } from "./migrate.ts";
import { openPglite } from "./pglite.ts";
import { openPostgres } from "./postgres.ts";

/** Where the database is. */
export interface DatabaseTarget {
  /** PostgreSQL URL; undefined selects the embedded database. */
  databaseUrl?: string;
  /** Data directory; the embedded database lives in `<dataDir>/pgdata`. */
  dataDir: string;
}

/** Opens the configured database and applies pending migrations; returns what was applied. */
export async function openDatabase(
  target: DatabaseTarget,
): Promise<{ db: Db; applied: string[] }> {
  const db = target.databaseUrl
    ? openPostgres(target.databaseUrl)
    : await openPglite({ dataDir: `${target.dataDir}/pgdata` });
  try {
    const applied = await migrate(db);
    return { db, applied };
  } catch (error) {
    await db.close();
    throw error;
  }
}
