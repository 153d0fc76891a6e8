/**
 * The storage seam: one typed query layer (kysely) over PostgreSQL (postgres.js) and the embedded
 * SQLite (`node:sqlite`, in a worker). Repositories write their queries once with kysely; the few
 * places where the engines differ (JSON columns, row locks) ask {@link Db.kind} or use
 * {@link Db.json}. Driver errors reach callers as the typed errors below.
 */
import { type Kysely, type RawBuilder, sql } from "kysely";
import type { Database } from "./schema.ts";
import { safeJsonStringify } from "./sanitize.ts";

/** Which engine is behind a {@link Db}. */
export type DbKind = "sqlite" | "postgres";

/** A query executor: the database itself or an open transaction. */
export type Executor = Kysely<Database>;

/** An open database. Closing it is idempotent. */
export interface Db extends AsyncDisposable {
  /** Which engine is behind the interface. */
  readonly kind: DbKind;
  /** The typed query builder. */
  readonly kysely: Kysely<Database>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. On
   * SQLite the transaction takes the write lock at its start (`BEGIN IMMEDIATE`), so a read in it
   * that decides a write cannot race another writer; on PostgreSQL such reads lock their rows.
   */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  /** The text of a JSON document, as the engine's JSON column takes it. */
  json(value: unknown): RawBuilder<string>;
  /** True when the database answers `select 1` within `timeoutMs` (default 2000). */
  ping(timeoutMs?: number): Promise<boolean>;
  /**
   * Writes a consistent copy of the whole database to `path` (a new file) while it stays in use:
   * SQLite's online backup, run between statements, never inside a transaction. PostgreSQL throws
   * {@link SnapshotUnsupportedError}, whose message says how to back it up instead.
   */
  snapshot(path: string): Promise<void>;
  /** Closes connections; later calls fail. */
  close(): Promise<void>;
}

/** `json()` for PostgreSQL: text cast to `jsonb` (a bare parameter would be taken as a string). */
export function postgresJson(value: unknown): RawBuilder<string> {
  return sql<string>`cast(cast(${safeJsonStringify(value)} as text) as jsonb)`;
}

/** `json()` for SQLite: JSON columns are text. */
export function sqliteJson(value: unknown): RawBuilder<string> {
  return sql<string>`${safeJsonStringify(value)}`;
}

/** Raised for a unique-constraint violation, so callers can answer 409. */
export class UniqueViolationError extends Error {
  override name = "UniqueViolationError";
  /** The constraint, named `<table>_<column>_key` on both engines. */
  readonly constraint: string | undefined;

  constructor(constraint: string | undefined, options?: ErrorOptions) {
    super(`A row with the same ${constraint ?? "key"} already exists`, options);
    this.constraint = constraint;
  }
}

/** Raised for a foreign-key violation (a referenced row is missing or still referenced). */
export class ForeignKeyViolationError extends Error {
  override name = "ForeignKeyViolationError";
  /** The constraint, when the engine names it. */
  readonly constraint: string | undefined;

  constructor(constraint: string | undefined, options?: ErrorOptions) {
    super(`The row is referenced by, or references, a missing row (${constraint ?? "?"})`, options);
    this.constraint = constraint;
  }
}

/**
 * Raised when the database cannot be used right now: unreachable, shut down, or (SQLite) its
 * disk is full, its file read-only or unreadable. `reason` says which, for logs and `/health`.
 */
export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";
  /** Why, in a few words ("disk full", "connection refused"). */
  readonly reason: string;

  constructor(reason = "unreachable", options?: ErrorOptions) {
    super(`The database is unavailable: ${reason}`, options);
    this.reason = reason;
  }
}

/** Raised by {@link Db.snapshot} on an engine keycast cannot copy itself; the message says how. */
export class SnapshotUnsupportedError extends Error {
  override name = "SnapshotUnsupportedError";
}

/** PostgreSQL driver and socket codes that mean "no usable connection", not a bad statement. */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01", // admin_shutdown
  "57P03", // cannot_connect_now
]);

/** Maps a postgres.js error to the typed errors above; others pass through. */
export function translatePostgresError(error: unknown): unknown {
  if (typeof error !== "object" || error === null) return error;
  const { code, constraint_name: constraint } = error as {
    code?: string;
    constraint_name?: string;
  };
  if (code && (UNAVAILABLE_CODES.has(code) || code.startsWith("08"))) {
    return new DatabaseUnavailableError(code.toLowerCase(), { cause: error });
  }
  if (code === "23505") return new UniqueViolationError(constraint, { cause: error });
  if (code === "23503" || code === "23001") {
    return new ForeignKeyViolationError(constraint, { cause: error });
  }
  return error;
}

/** SQLite primary result codes that blame the values of a statement (`sqlite3.h`). */
const SQLITE_DATA_CODES = new Set([
  18, // SQLITE_TOOBIG: a string or blob too large
  19, // SQLITE_CONSTRAINT: a check, not-null, unique or foreign-key constraint
  20, // SQLITE_MISMATCH: a value of the wrong type
]);

/**
 * Whether `error` is a statement refused for the values it carried — a data exception or an
 * integrity constraint: PostgreSQL SQLSTATE classes 22 and 23, SQLite's constraint, too-big and
 * type-mismatch results — so the same statement with other values may succeed. Anything else
 * (an outage, a full disk, a read-only database, a cancelled statement, a lock, an error of
 * unknown shape) is the database's state, and would refuse any values alike.
 */
export function isDataError(error: unknown): boolean {
  if (error instanceof UniqueViolationError || error instanceof ForeignKeyViolationError) {
    return true;
  }
  if (typeof error !== "object" || error === null || error instanceof DatabaseUnavailableError) {
    return false;
  }
  const { code, failure } = error as { code?: unknown; failure?: { errcode?: unknown } };
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) {
    return code.startsWith("22") || code.startsWith("23");
  }
  // An SqliteError (sqlite.ts) carries SQLite's extended result code; the low byte is the primary.
  const errcode = failure?.errcode;
  return typeof errcode === "number" && errcode >= 0 && SQLITE_DATA_CODES.has(errcode & 0xff);
}

/** Races `promise` against a timer and reports whether it settled successfully in time. */
export async function answersWithin(
  promise: Promise<unknown>,
  timeoutMs: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([promise.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
