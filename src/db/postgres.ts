/** PostgreSQL through postgres.js: a small pool with timeouts; TLS follows the URL (`sslmode`). */
import postgres from "postgres";
import { answersWithin, type Db, type Queryable, type Row, translateError } from "./db.ts";

/** Connection settings beyond the URL. */
export interface PostgresOptions {
  /** Pool size. Default 10. */
  max?: number;
  /** Seconds to wait for a new connection. Default 10. */
  connectTimeoutSeconds?: number;
  /** Seconds an idle connection is kept. Default 30. */
  idleTimeoutSeconds?: number;
}

/** Opens a pool for `url`; the first query connects. */
export function openPostgres(url: string, options: PostgresOptions = {}): PostgresDb {
  const sql = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    idle_timeout: options.idleTimeoutSeconds ?? 30,
    onnotice: () => {},
    connection: { application_name: "keycast" },
  });
  return new PostgresDb(sql);
}

type Sql = ReturnType<typeof postgres>;

/** {@link Db} over a postgres.js pool. */
export class PostgresDb implements Db {
  readonly kind = "postgres";
  readonly #sql: Sql;
  #closed = false;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return await run<T>(this.#sql, sql, params);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    try {
      return await this.#sql.begin((tx) =>
        fn({ query: (sql, params = []) => run(tx as unknown as Sql, sql, params) })
      ) as T;
    } catch (error) {
      throw translateError(error);
    }
  }

  ping(timeoutMs = 2000): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return answersWithin(this.#sql.unsafe("select 1"), timeoutMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#sql.end({ timeout: 5 });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function run<T>(sql: Sql, text: string, params: readonly unknown[]): Promise<T[]> {
  try {
    const rows = await sql.unsafe(text, params as postgres.ParameterOrJSON<never>[]);
    return rows as unknown as T[];
  } catch (error) {
    throw translateError(error);
  }
}
