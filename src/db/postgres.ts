/** PostgreSQL through postgres.js and kysely: a small pool with timeouts; TLS follows the URL. */
import { Kysely } from "kysely";
import postgres from "postgres";
import {
  answersWithin,
  type Db,
  type Executor,
  postgresJson,
  SnapshotUnsupportedError,
  translatePostgresError,
} from "./db.ts";
import type { Database } from "./schema.ts";
import { SanitizeTextPlugin } from "./sanitize.ts";
import { postgresJsDialect } from "./postgres_driver.ts";
import { translatingDialect } from "./translate.ts";

/** Connection settings beyond the URL. */
export interface PostgresOptions {
  /** Pool size. Default 10. */
  max?: number;
  /** Seconds to wait for a new connection. Default 10. */
  connectTimeoutSeconds?: number;
  /** Seconds an idle connection is kept. Default 30. */
  idleTimeoutSeconds?: number;
}

/** How to back up a PostgreSQL database; the URL stays in its variable (it holds a password). */
export const PG_DUMP_COMMAND = 'pg_dump --format=custom "$DATABASE_URL" > keycast.dump';

/** Opens a pool for `url`; the first query connects. */
export function openPostgres(url: string, options: PostgresOptions = {}): Db {
  const client = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    idle_timeout: options.idleTimeoutSeconds ?? 30,
    onnotice: () => {},
    connection: { application_name: "keycast" },
  });
  const kysely = new Kysely<Database>({
    dialect: translatingDialect(postgresJsDialect(client), translatePostgresError),
    plugins: [new SanitizeTextPlugin()],
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    // The driver ends the pool, giving running queries 5 s.
    await kysely.destroy();
  };
  return {
    kind: "postgres",
    kysely,
    transaction: <T>(fn: (tx: Executor) => Promise<T>) => kysely.transaction().execute(fn),
    json: postgresJson,
    ping: (timeoutMs = 2_000) =>
      closed ? Promise.resolve(false) : answersWithin(client.unsafe("select 1"), timeoutMs),
    snapshot: () =>
      Promise.reject(
        new SnapshotUnsupportedError(
          "Cannot take a backup through keycast: the database is PostgreSQL, back it up with " +
            `pg_dump: ${PG_DUMP_COMMAND} (and restore it with pg_restore)`,
        ),
      ),
    close,
    [Symbol.asyncDispose]: close,
  };
}
