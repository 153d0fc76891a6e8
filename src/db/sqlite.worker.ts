/**
 * The SQLite worker: owns one `node:sqlite` connection and runs the statements the main thread
 * sends, one at a time, in order. Settings: WAL (readers never wait for the writer), foreign keys
 * on, a busy timeout, and `synchronous = FULL`: every commit is fsynced before it is reported, so
 * a key or a client binding that keycast confirmed survives a power cut. (`NORMAL` would only
 * keep the file consistent, possibly losing the last commits.) The fsync costs ~1 ms, which is
 * why it runs here and not on the main thread.
 */
/// <reference lib="deno.worker" />
import { backup, DatabaseSync, type StatementSync } from "node:sqlite";
import type {
  FromSqliteWorker,
  SqliteFailure,
  SqliteOpenOptions,
  SqliteValue,
  ToSqliteWorker,
} from "./sqlite_protocol.ts";

/** Prepared statements kept, by SQL text. */
const STATEMENT_CACHE_SIZE = 256;

let db: DatabaseSync | undefined;
const statements = new Map<string, StatementSync>();

// The handler is registered before anything else can run, so no message is missed.
self.onmessage = (event: MessageEvent<ToSqliteWorker>) => {
  const message = event.data;
  switch (message.type) {
    case "open":
      post(open(message.options));
      return;
    case "query":
      post(query(message.id, message.sql, message.params));
      return;
    case "backup":
      void snapshot(message.id, message.path).then(post);
      return;
    case "close":
      statements.clear();
      db?.close();
      db = undefined;
      post({ type: "closed" });
      return;
  }
};

function open(options: SqliteOpenOptions): FromSqliteWorker {
  try {
    db = new DatabaseSync(options.path, { enableForeignKeyConstraints: true });
    db.exec(`pragma busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
    db.exec("pragma journal_mode = wal");
    db.exec("pragma synchronous = full");
    db.exec("pragma foreign_keys = on");
    // Reading the schema proves the file is a database (a corrupt or foreign file fails here).
    db.prepare("select count(*) from sqlite_schema").get();
    return { type: "opened" };
  } catch (error) {
    db?.close();
    db = undefined;
    return { type: "open_failed", failure: failureOf(error) };
  }
}

function query(id: number, sql: string, params: SqliteValue[]): FromSqliteWorker {
  try {
    if (!db) throw new Error("The database is not open");
    const statement = prepared(db, sql);
    if (statement.columns().length > 0) {
      const rows = statement.all(...params) as Record<string, SqliteValue>[];
      return { type: "result", id, ok: true, rows, changes: 0, lastInsertRowid: 0 };
    }
    const { changes, lastInsertRowid } = statement.run(...params);
    return {
      type: "result",
      id,
      ok: true,
      rows: [],
      changes: Number(changes),
      lastInsertRowid: Number(lastInsertRowid),
    };
  } catch (error) {
    return { type: "result", id, ok: false, failure: failureOf(error) };
  }
}

/**
 * Copies the database to `path` with SQLite's online backup, every page in one step (`rate: -1`),
 * so the copy is one consistent state. The main thread sends this only while it holds the
 * connection, never inside a transaction.
 */
async function snapshot(id: number, path: string): Promise<FromSqliteWorker> {
  try {
    if (!db) throw new Error("The database is not open");
    await backup(db, path, { rate: -1 });
    return { type: "result", id, ok: true, rows: [], changes: 0, lastInsertRowid: 0 };
  } catch (error) {
    return { type: "result", id, ok: false, failure: failureOf(error) };
  }
}

function prepared(database: DatabaseSync, sql: string): StatementSync {
  let statement = statements.get(sql);
  if (statement) {
    statements.delete(sql);
  } else {
    statement = database.prepare(sql);
    if (statements.size >= STATEMENT_CACHE_SIZE) {
      statements.delete(statements.keys().next().value!);
    }
  }
  statements.set(sql, statement);
  return statement;
}

function failureOf(error: unknown): SqliteFailure {
  const { errcode, message } = error as { errcode?: unknown; message?: unknown };
  return {
    errcode: typeof errcode === "number" ? errcode : -1,
    message: typeof message === "string" ? message : String(error),
  };
}

function post(message: FromSqliteWorker): void {
  self.postMessage(message);
}
