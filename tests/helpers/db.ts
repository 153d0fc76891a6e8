/**
 * Databases for tests. SQLite: one migrated template file per test process (in a temp dir
 * removed when the process ends), copied into a fresh temp dir per test. PostgreSQL: a throwaway
 * database per test on `KEYCAST_TEST_DATABASE_URL` (default the local server), dropped
 * afterwards. When no server answers, PostgreSQL tests are skipped with a printed reason —
 * except under `CI=true`, where they must run.
 */
import postgres from "postgres";
import type { Db } from "../../src/db/db.ts";
import { migrate } from "../../src/db/migrate.ts";
import { SQLITE_FILE } from "../../src/db/open.ts";
import { openPostgres } from "../../src/db/postgres.ts";
import { openSqlite } from "../../src/db/sqlite.ts";

/** A database for one test; disposing it closes (and removes or drops) it. */
export type TestDb = Db;

/** Server used for PostgreSQL tests. */
export const TEST_POSTGRES_URL = Deno.env.get("KEYCAST_TEST_DATABASE_URL") ??
  "postgres://postgres@127.0.0.1:5432/postgres";

let template: Promise<string> | undefined;

/** A migrated SQLite database file, made once per test process; returns its path. */
function sqliteTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "keycast-test-template-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const path = `${dir}/${SQLITE_FILE}`;
    const db = await openSqlite({ path });
    try {
      await migrate(db);
    } finally {
      await db.close(); // closing checkpoints the WAL into the file
    }
    return path;
  })();
  return template;
}

/** A fresh, migrated SQLite database in its own temp dir (removed when disposed). */
export async function sqliteTestDb(): Promise<TestDb> {
  const dir = await Deno.makeTempDir({ prefix: "keycast-test-" });
  const path = `${dir}/${SQLITE_FILE}`;
  await Deno.copyFile(await sqliteTemplate(), path);
  const db = await openSqlite({ path });
  const close = async () => {
    await db.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  return { ...db, close, [Symbol.asyncDispose]: close };
}

let serverCheck: Promise<string | undefined> | undefined;

/** Why PostgreSQL tests cannot run here, or undefined when the server answers. */
export function postgresUnavailable(): Promise<string | undefined> {
  serverCheck ??= (async () => {
    const sql = postgres(TEST_POSTGRES_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
    try {
      await sql.unsafe("select 1");
      return undefined;
    } catch (error) {
      return `no PostgreSQL answers at the test URL (${(error as Error).message})`;
    } finally {
      await sql.end({ timeout: 1 });
    }
  })();
  return serverCheck;
}

/** An empty throwaway PostgreSQL database (for a child `serve` process); dispose drops it. */
export async function emptyPostgresDatabase(): Promise<{ url: string } & AsyncDisposable> {
  const reason = await postgresUnavailable();
  if (reason) throw new Error(`Cannot create a PostgreSQL database: ${reason}`);
  const name = `keycast_test_${crypto.randomUUID().replaceAll("-", "")}`;
  const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    [Symbol.asyncDispose]: async () => {
      const dropper = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end({ timeout: 5 });
      }
    },
  };
}

/**
 * A throwaway PostgreSQL database with keycast's schema, for code that connects by URL (a store of
 * its own, a child process); dispose drops it.
 */
export async function migratedPostgresDatabase(): Promise<{ url: string } & AsyncDisposable> {
  const database = await emptyPostgresDatabase();
  const db = openPostgres(database.url, { max: 1 });
  try {
    await migrate(db);
  } catch (error) {
    await database[Symbol.asyncDispose]();
    throw error;
  } finally {
    await db.close();
  }
  return database;
}

/** A fresh, migrated PostgreSQL database, dropped when disposed. */
export async function postgresTestDb(): Promise<TestDb> {
  const database = await emptyPostgresDatabase();
  const db = openPostgres(database.url, { max: 4 });
  try {
    await migrate(db);
  } catch (error) {
    await db.close();
    await database[Symbol.asyncDispose]();
    throw error;
  }
  const close = async () => {
    await db.close();
    await database[Symbol.asyncDispose]();
  };
  return { ...db, close, [Symbol.asyncDispose]: close };
}

/** The engines tests run against. */
export const DATABASE_KINDS = ["sqlite", "postgres"] as const;

/**
 * True (after printing why) when no PostgreSQL server answers and the test should end as skipped;
 * under `CI=true` throws instead, because CI must run every PostgreSQL test.
 */
export async function skipWithoutPostgres(): Promise<boolean> {
  const reason = await postgresUnavailable();
  if (!reason) return false;
  if (Deno.env.get("CI") === "true") throw new Error(`PostgreSQL is required in CI: ${reason}`);
  // deno-lint-ignore no-console -- the skip reason must reach the test output
  console.log(`skipped: ${reason}`);
  return true;
}

/**
 * Registers `fn` once per engine as `"<name> [sqlite]"` and `"<name> [postgres]"`. The PostgreSQL
 * variant is ignored with a printed reason when no server answers, unless `CI=true`.
 */
export function testEachDatabase(
  name: string,
  fn: (db: Db, t: Deno.TestContext) => Promise<void>,
): void {
  testEachDatabaseKind(name, async (kind, t) => {
    await using db = kind === "sqlite" ? await sqliteTestDb() : await postgresTestDb();
    await fn(db, t);
  });
}

/**
 * Registers `fn` once per engine, for tests that set the database up themselves (e.g. a
 * child `serve` process). Same skip rule as {@link testEachDatabase}.
 */
export function testEachDatabaseKind(
  name: string,
  fn: (kind: typeof DATABASE_KINDS[number], t: Deno.TestContext) => Promise<void>,
): void {
  for (const kind of DATABASE_KINDS) {
    Deno.test(`${name} [${kind}]`, async (t) => {
      if (kind === "postgres" && await skipWithoutPostgres()) return;
      await fn(kind, t);
    });
  }
}
