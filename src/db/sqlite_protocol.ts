/**
 * Messages between the SQLite connection (main thread) and `sqlite.worker.ts`, which owns the
 * `node:sqlite` database so that its synchronous calls (and each commit's fsync) never block the
 * event loop that serves relays and HTTP.
 */

/** Settings of the database the worker opens. */
export interface SqliteOpenOptions {
  /** Path of the database file, or `:memory:`. */
  path: string;
  /** How long a statement waits for a lock held by another connection, in ms. */
  busyTimeoutMs: number;
}

/** Main thread → worker. */
export type ToSqliteWorker =
  | { type: "open"; options: SqliteOpenOptions }
  | { type: "query"; id: number; sql: string; params: SqliteValue[] }
  /** Copies the database to `path` (SQLite's online backup); answered with a `result`. */
  | { type: "backup"; id: number; path: string }
  | { type: "close" };

/** A value SQLite binds or returns. */
export type SqliteValue = string | number | bigint | Uint8Array | null;

/** Why a statement failed, as SQLite says it. */
export interface SqliteFailure {
  /** SQLite's extended result code, e.g. 2067 for a UNIQUE violation; -1 when not from SQLite. */
  errcode: number;
  /** The error message. */
  message: string;
}

/** Worker → main thread. */
export type FromSqliteWorker =
  | { type: "opened" }
  | { type: "open_failed"; failure: SqliteFailure }
  | {
    type: "result";
    id: number;
    ok: true;
    rows: Record<string, SqliteValue>[];
    changes: number;
    lastInsertRowid: number;
  }
  | { type: "result"; id: number; ok: false; failure: SqliteFailure }
  | { type: "closed" };
