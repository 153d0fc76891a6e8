/**
 * Databases for tests. PGlite: one migrated template per test run (cached on disk, keyed by the
 * migration files), loaded into a fresh in-memory instance per test (~0.4 s instead of ~3 s).
 * PostgreSQL: a throwaway database per test on `KEYCAST_TEST_DATABASE_URL` (default the local
 * server), dropped afterwards. When no server answers, PostgreSQL tests are skipped with a printed
 * reason — except under `CI=true`, where they must run.
 */
import postgres from "postgres";
import { encodeHex } from "../../src/util/hex.ts";
import type { Db } from "../../src/db/db.ts";
import { migrate, readMigrations } from "../../src/db/migrate.ts";
import { openPglite } from "../../src/db/pglite.ts";
import { openPostgres } from "../../src/db/postgres.ts";

/** A database for one test; disposing it closes (and for PostgreSQL drops) it. */
export type TestDb = Db & AsyncDisposable;

/** Server used for PostgreSQL tests. */
export const TEST_POSTGRES_URL = Deno.env.get("KEYCAST_TEST_DATABASE_URL") ??
  "postgres://postgres@127.0.0.1:5432/postgres";

let template: Promise<Blob> | undefined;

/** A fresh, migrated embedded database in memory. */
export async function pgliteTestDb(): Promise<TestDb> {
  template ??= loadTemplate();
  return await openPglite({ loadDataDir: await template });
}

async function loadTemplate(): Promise<Blob> {
  const migrations = await readMigrations();
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(JSON.stringify(migrations)),
  );
  const path = `${tempDir()}/keycast-pglite-template-${
    encodeHex(new Uint8Array(digest)).slice(0, 16)
  }.tar`;
  try {
    return new Blob([await Deno.readFile(path)]);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const db = await openPglite();
  try {
    await migrate(db, migrations);
    const blob = await db.dump();
    // Write then rename, so a parallel test file never reads half a template.
    const partial = `${path}.${crypto.randomUUID()}`;
    await Deno.writeFile(partial, new Uint8Array(await blob.arrayBuffer()));
    await Deno.rename(partial, path);
    return blob;
  } finally {
    await db.close();
  }
}

function tempDir(): string {
  return Deno.env.get("TMPDIR") ?? "/tmp";
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
  const close = db.close.bind(db);
  return Object.assign(db, {
    close: async () => {
      await close();
      await database[Symbol.asyncDispose]();
    },
    [Symbol.asyncDispose]: () => db.close(),
  });
}

/** The adapters tests run against. */
export const DATABASE_KINDS = ["pglite", "postgres"] as const;

/**
 * Registers `fn` once per adapter as `"<name> [pglite]"` and `"<name> [postgres]"`. The PostgreSQL
 * variant is ignored with a printed reason when no server answers, unless `CI=true`.
 */
export function testEachDatabase(
  name: string,
  fn: (db: Db, t: Deno.TestContext) => Promise<void>,
): void {
  testEachDatabaseKind(name, async (kind, t) => {
    await using db = kind === "pglite" ? await pgliteTestDb() : await postgresTestDb();
    await fn(db, t);
  });
}

/**
 * Registers `fn` once per adapter kind, for tests that set the database up themselves (e.g. a
 * child `serve` process). Same skip rule as {@link testEachDatabase}.
 */
export function testEachDatabaseKind(
  name: string,
  fn: (kind: typeof DATABASE_KINDS[number], t: Deno.TestContext) => Promise<void>,
): void {
  for (const kind of DATABASE_KINDS) {
    Deno.test(`${name} [${kind}]`, async (t) => {
      if (kind === "postgres") {
        const reason = await postgresUnavailable();
        if (reason) {
          if (Deno.env.get("CI") === "true") {
            throw new Error(`PostgreSQL is required in CI: ${reason}`);
          }
          // deno-lint-ignore no-console -- the skip reason must reach the test output
          console.log(`skipped: ${reason}`);
          return;
        }
      }
      await fn(kind, t);
    });
  }
}
