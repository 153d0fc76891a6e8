/**
 * The embedded database: SQLite through `node:sqlite`, run in `sqlite.worker.ts` so the main
 * thread never waits on a synchronous call or a commit's fsync. One connection: statements run
 * one at a time in the worker, and a kysely transaction holds the connection (a mutex) from its
 * `BEGIN IMMEDIATE` to its `COMMIT`, so no other query can slip into it.
 */
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  Kysely,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from "kysely";
import {
  answersWithin,
  DatabaseUnavailableError,
  type Db,
  type Executor,
  ForeignKeyViolationError,
  sqliteJson,
  UniqueViolationError,
} from "./db.ts";
import type { Database } from "./schema.ts";
import { SanitizeTextPlugin } from "./sanitize.ts";
import type {
  FromSqliteWorker,
  SqliteFailure,
  SqliteOpenOptions,
  SqliteValue,
  ToSqliteWorker,
} from "./sqlite_protocol.ts";
import { translatingDialect } from "./translate.ts";

/** The worker module; `deno compile` embeds it (`--include src/db/sqlite.worker.ts`). */
export const SQLITE_WORKER_URL = new URL("./sqlite.worker.ts", import.meta.url);

/** Options of {@link openSqlite}. */
export interface SqliteOptions {
  /** Path of the database file (created when missing), or `:memory:`. */
  path: string;
  /** How long a statement waits for a lock, in ms. Default 5_000. */
  busyTimeoutMs?: number;
}

/** Raised when the file cannot be opened as a keycast database (missing dir, corrupt, …). */
export class SqliteOpenError extends Error {
  override name = "SqliteOpenError";
}

/** Opens (creating when missing) the SQLite database at `options.path`. */
export async function openSqlite(options: SqliteOptions): Promise<Db> {
  const worker = await SqliteWorker.open({
    path: options.path,
    busyTimeoutMs: options.busyTimeoutMs ?? 5_000,
  });
  const kysely = new Kysely<Database>({
    dialect: translatingDialect(workerDialect(worker), translateSqliteError),
    plugins: [new SanitizeTextPlugin()],
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await kysely.destroy();
  };
  return {
    kind: "sqlite",
    kysely,
    transaction: <T>(fn: (tx: Executor) => Promise<T>) => kysely.transaction().execute(fn),
    json: sqliteJson,
    ping: (timeoutMs = 2_000) =>
      closed
        ? Promise.resolve(false)
        : answersWithin(worker.query("select 1", []).then(ensureOk), timeoutMs),
    // Holding the connection: no transaction of ours is open while the pages are copied.
    snapshot: (path) =>
      kysely.connection().execute(async () => {
        try {
          ensureOk(await worker.backup(path));
        } catch (error) {
          throw translateSqliteError(error);
        }
      }),
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** SQLite result codes (the low byte of an extended code). */
const SQLITE = {
  BUSY: 5,
  READONLY: 8,
  IOERR: 10,
  CORRUPT: 11,
  FULL: 13,
  CANTOPEN: 14,
  CONSTRAINT: 19,
  NOTADB: 26,
} as const;
const SQLITE_CONSTRAINT_FOREIGNKEY = 787;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_UNIQUE = 2067;

/** Maps a {@link SqliteFailure} to the typed errors of `db.ts`; anything else to an Error. */
export function translateSqliteError(error: unknown): unknown {
  if (!(error instanceof SqliteError)) return error;
  const { errcode, message } = error.failure;
  const table = /constraint failed: (\w+)\.(\w+)/.exec(message);
  switch (errcode) {
    case SQLITE_CONSTRAINT_UNIQUE:
      return new UniqueViolationError(table ? `${table[1]}_${table[2]}_key` : undefined, {
        cause: error,
      });
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return new UniqueViolationError(table ? `${table[1]}_pkey` : undefined, { cause: error });
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return new ForeignKeyViolationError(undefined, { cause: error });
  }
  // ON DELETE RESTRICT reports as a trigger constraint (1811); the message names the kind.
  if ((errcode & 0xff) === SQLITE.CONSTRAINT && message.includes("FOREIGN KEY")) {
    return new ForeignKeyViolationError(undefined, { cause: error });
  }
  switch (errcode & 0xff) {
    case SQLITE.FULL:
      return new DatabaseUnavailableError("the disk is full", { cause: error });
    case SQLITE.READONLY:
      return new DatabaseUnavailableError("the database file is read-only", { cause: error });
    case SQLITE.IOERR:
      return new DatabaseUnavailableError("an I/O error", { cause: error });
    case SQLITE.CORRUPT:
    case SQLITE.NOTADB:
      return new DatabaseUnavailableError("the database file is corrupt", { cause: error });
    case SQLITE.BUSY:
      return new DatabaseUnavailableError("the database is locked", { cause: error });
    case SQLITE.CANTOPEN:
      return new DatabaseUnavailableError("the database file cannot be opened", { cause: error });
  }
  return error;
}

/** A failed statement, as SQLite reported it. */
export class SqliteError extends Error {
  override name = "SqliteError";
  constructor(readonly failure: SqliteFailure) {
    super(failure.message);
  }
}

type Result = Extract<FromSqliteWorker, { type: "result" }>;

/** The worker and the statements in flight to it. */
class SqliteWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, PromiseWithResolvers<Result>>();
  #nextId = 1;
  #failed: Error | undefined;
  #closing: Promise<void> | undefined;
  #onClosed: (() => void) | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /** Starts the worker and opens the database in it. */
  static open(options: SqliteOpenOptions): Promise<SqliteWorker> {
    // The worker may touch only the database's directory (the file, its WAL and shared memory).
    const dir = options.path === ":memory:" ? [] : [dirname(options.path)];
    const worker = new Worker(SQLITE_WORKER_URL, {
      type: "module",
      name: "keycast-sqlite",
      deno: {
        permissions: {
          read: dir,
          write: dir,
          net: false,
          env: false,
          run: false,
          ffi: false,
          sys: false,
          import: false,
        },
      },
    });
    const connection = new SqliteWorker(worker);
    return new Promise((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<FromSqliteWorker>) => {
        const message = event.data;
        if (message.type === "opened") {
          worker.onmessage = (next: MessageEvent<FromSqliteWorker>) => connection.#receive(next);
          worker.onerror = (error) => {
            error.preventDefault();
            connection.#fail(new DatabaseUnavailableError("the database worker stopped"));
            worker.terminate();
          };
          resolve(connection);
        } else if (message.type === "open_failed") {
          worker.terminate();
          reject(
            new SqliteOpenError(
              `Cannot open the database file "${options.path}": ${message.failure.message}`,
            ),
          );
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        connection.#fail(new DatabaseUnavailableError("the database worker stopped"));
        worker.terminate();
        reject(new SqliteOpenError(`Cannot start the database worker: ${event.message}`));
      };
      connection.#post({ type: "open", options });
    });
  }

  /** Runs one statement in the worker. */
  query(sql: string, params: SqliteValue[]): Promise<Result> {
    return this.#call((id) => ({ type: "query", id, sql, params }));
  }

  /** Copies the database to the new file `path` (which must be in the database's directory). */
  backup(path: string): Promise<Result> {
    return this.#call((id) => ({ type: "backup", id, path }));
  }

  /** Closes the database and stops the worker; later queries fail. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.#failed) return resolve();
      const timer = setTimeout(resolve, 5_000);
      this.#onClosed = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#post({ type: "close" });
    }).then(() => {
      this.#fail(new DatabaseUnavailableError("the database is closed"));
      this.#worker.terminate();
    });
    return this.#closing;
  }

  #receive(event: MessageEvent<FromSqliteWorker>): void {
    const message = event.data;
    if (message.type === "closed") {
      this.#onClosed?.();
      return;
    }
    if (message.type !== "result") return;
    const pending = this.#pending.get(message.id);
    this.#pending.delete(message.id);
    pending?.resolve(message);
  }

  #fail(error: Error): void {
    this.#failed ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  #call(message: (id: number) => ToSqliteWorker): Promise<Result> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#nextId++;
    const pending = Promise.withResolvers<Result>();
    this.#pending.set(id, pending);
    this.#post(message(id));
    return pending.promise;
  }

  #post(message: ToSqliteWorker): void {
    this.#worker.postMessage(message);
  }
}

function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? (slash === 0 ? "/" : ".") : path.slice(0, slash);
}

function ensureOk(result: Result): void {
  if (!result.ok) throw new SqliteError(result.failure);
}

/** A kysely dialect whose driver talks to `worker`. */
function workerDialect(worker: SqliteWorker): Dialect {
  return {
    createAdapter: () => new SqliteAdapter(),
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createDriver: () => new WorkerDriver(worker),
  };
}

/** One connection, handed to one user at a time. */
class WorkerDriver implements Driver {
  readonly #connection: WorkerConnection;
  #queue: Promise<void> = Promise.resolve();

  constructor(readonly worker: SqliteWorker) {
    this.#connection = new WorkerConnection(worker);
  }

  init(): Promise<void> {
    return Promise.resolve();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    let release!: () => void;
    const previous = this.#queue;
    this.#queue = new Promise<void>((resolve) => (release = resolve));
    await previous;
    this.#connection.release = release;
    return this.#connection;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("commit"));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }

  releaseConnection(): Promise<void> {
    const release = this.#connection.release;
    this.#connection.release = undefined;
    release?.();
    return Promise.resolve();
  }

  async destroy(): Promise<void> {
    await this.worker.close();
  }
}

class WorkerConnection implements DatabaseConnection {
  /** Hands the connection to the next waiter; set while acquired. */
  release: (() => void) | undefined;

  constructor(readonly worker: SqliteWorker) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.worker.query(query.sql, query.parameters.map(toSqliteValue));
    if (!result.ok) throw new SqliteError(result.failure);
    return {
      rows: result.rows as R[],
      numAffectedRows: BigInt(result.changes),
      insertId: result.lastInsertRowid ? BigInt(result.lastInsertRowid) : undefined,
    };
  }

  // deno-lint-ignore require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("Streaming queries is not supported on the embedded database");
  }
}

/** A parameter as SQLite binds it: Dates as Unix milliseconds, booleans as 0/1. */
function toSqliteValue(value: unknown): SqliteValue {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return value.getTime();
  if (typeof value === "boolean") return value ? 1 : 0;
  if (
    typeof value === "string" || typeof value === "number" || typeof value === "bigint" ||
    value instanceof Uint8Array
  ) {
    return value;
  }
  throw new TypeError(`Cannot bind a ${typeof value} to an SQLite statement: encode it first`);
}
