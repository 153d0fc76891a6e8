/** The embedded database: PGlite (PostgreSQL compiled to WebAssembly) in one process. */
import { PGlite } from "@electric-sql/pglite";
import { answersWithin, type Db, type Queryable, type Row, translateError } from "./db.ts";

/** Where the embedded database lives. */
export interface PgliteOptions {
  /** Data directory; undefined keeps everything in memory (tests). */
  dataDir?: string;
  /** A tarball from `dumpDataDir()` to start from (tests clone a migrated template this way). */
  loadDataDir?: Blob;
}

/** Opens (creating on first use) an embedded database. */
export async function openPglite(options: PgliteOptions = {}): Promise<PgliteDb> {
  if (options.dataDir) await Deno.mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const pg = await PGlite.create({
    dataDir: options.dataDir,
    loadDataDir: options.loadDataDir,
    // Syncing to disk after each statement is what keeps a crash from losing a commit.
    relaxedDurability: false,
  });
  return new PgliteDb(pg);
}

/** {@link Db} over one PGlite instance. */
export class PgliteDb implements Db {
  readonly kind = "pglite";
  readonly #pg: PGlite;
  #closed = false;

  constructor(pg: PGlite) {
    this.#pg = pg;
  }

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return await run<T>(this.#pg, sql, params);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    try {
      return await this.#pg.transaction((tx) =>
        fn({ query: (sql, params = []) => run(tx, sql, params) })
      );
    } catch (error) {
      throw translateError(error);
    }
  }

  ping(timeoutMs = 2000): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return answersWithin(this.#pg.query("select 1"), timeoutMs);
  }

  /** Serializes the whole data directory (used to build per-test clones of a template). */
  async dump(): Promise<Blob> {
    return await this.#pg.dumpDataDir("none");
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pg.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

type PgliteQueryable = Pick<PGlite, "query">;

async function run<T>(pg: PgliteQueryable, sql: string, params: readonly unknown[]): Promise<T[]> {
  try {
    const result = await pg.query<T>(sql, params as unknown[]);
    return result.rows;
  } catch (error) {
    throw translateError(error);
  }
}
