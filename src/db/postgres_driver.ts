/**
 * A kysely dialect over postgres.js that uses the library's pool the way it is built to be used:
 * single queries through `sql.unsafe()` (postgres.js picks a connection and reconnects after an
 * outage on its own), transactions through `sql.begin()`. A kysely transaction is bridged onto
 * `sql.begin()`'s callback, which stays open until kysely commits or rolls back.
 *
 * Why not a reserved connection per query (the approach of the published postgres.js dialects):
 * in our database-outage fault test, reserved connections did not recover after the database
 * came back, and once failed with an uncaught TypeError inside postgres.js.
 */
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from "kysely";
import type postgres from "postgres";

type Sql = ReturnType<typeof postgres>;
type TransactionSql = postgres.TransactionSql;
type Parameters = postgres.ParameterOrJSON<never>[];

/** A kysely dialect over the postgres.js pool `sql`. */
export function postgresJsDialect(sql: Sql): Dialect {
  return {
    createAdapter: () => new PostgresAdapter(),
    createQueryCompiler: () => new PostgresQueryCompiler(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createDriver: () => new PostgresJsDriver(sql),
  };
}

class PostgresJsDriver implements Driver {
  constructor(readonly sql: Sql) {}

  init(): Promise<void> {
    return Promise.resolve();
  }

  acquireConnection(): Promise<DatabaseConnection> {
    return Promise.resolve(new PostgresJsConnection(this.sql));
  }

  beginTransaction(connection: DatabaseConnection): Promise<void> {
    return asConnection(connection).begin();
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return asConnection(connection).end(true);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return asConnection(connection).end(false);
  }

  releaseConnection(): Promise<void> {
    return Promise.resolve();
  }

  async destroy(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}

/** Thrown inside `sql.begin()` to make it roll back; never escapes. */
const ROLLBACK = Symbol("rollback");

/** Queries on the pool, or inside one open transaction between `begin()` and `end()`. */
class PostgresJsConnection implements DatabaseConnection {
  #tx: TransactionSql | undefined;
  #finish: ((commit: boolean) => void) | undefined;
  #done: Promise<void> | undefined;

  constructor(readonly sql: Sql) {}

  /** Opens a transaction: resolves once `sql.begin()` has handed over its connection. */
  async begin(): Promise<void> {
    const opened = Promise.withResolvers<TransactionSql>();
    const finish = Promise.withResolvers<boolean>();
    this.#finish = finish.resolve;
    this.#done = this.sql.begin(async (tx) => {
      opened.resolve(tx);
      if (!await finish.promise) throw ROLLBACK;
    }).then(() => undefined, (error: unknown) => {
      if (error !== ROLLBACK) throw error;
    });
    // BEGIN itself can fail (no connection): then the callback never runs.
    const failed = this.#done.then(() => {
      throw new Error("The transaction ended before it began");
    });
    this.#tx = await Promise.race([opened.promise, failed]);
  }

  /** Commits (`true`) or rolls back the open transaction and waits until it has. */
  async end(commit: boolean): Promise<void> {
    const done = this.#done;
    this.#finish?.(commit);
    this.#tx = undefined;
    this.#finish = undefined;
    this.#done = undefined;
    await done;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const target = this.#tx ?? this.sql;
    const result = await target.unsafe(query.sql, [...query.parameters] as Parameters, {
      prepare: true,
    });
    const { command, count } = result;
    return {
      rows: [...result] as R[],
      numAffectedRows: command === "INSERT" || command === "UPDATE" || command === "DELETE"
        ? BigInt(count)
        : undefined,
    };
  }

  // deno-lint-ignore require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("Streaming queries is not supported");
  }
}

function asConnection(connection: DatabaseConnection): PostgresJsConnection {
  if (connection instanceof PostgresJsConnection) return connection;
  throw new TypeError("Cannot use a connection of another driver");
}
