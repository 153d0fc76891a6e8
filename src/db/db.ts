/**
 * The storage seam: one small interface over PostgreSQL (postgres.js) and the embedded PGlite.
 * SQL is written once, with `$1` placeholders and explicit casts, and runs on both.
 */

/** A result row as the driver returns it. */
export type Row = Record<string, unknown>;

/** Anything that runs parameterized SQL: the database itself or an open transaction. */
export interface Queryable {
  /** Runs one statement with `$n` parameters and returns its rows. */
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/** An open database. Closing it is idempotent. */
export interface Db extends Queryable, AsyncDisposable {
  /** Which adapter is behind the interface. */
  readonly kind: "pglite" | "postgres";
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** True when the database answers `select 1` within `timeoutMs` (default 2000). */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Closes connections; later calls fail. */
  close(): Promise<void>;
}

/** Raised for a unique-constraint violation, so callers can answer 409. */
export class UniqueViolationError extends Error {
  override name = "UniqueViolationError";
  constructor(readonly constraint: string | undefined, options?: ErrorOptions) {
    super(`A row with the same ${constraint ?? "key"} already exists`, options);
  }
}

/** Raised for a foreign-key violation (a referenced row is missing or still referenced). */
export class ForeignKeyViolationError extends Error {
  override name = "ForeignKeyViolationError";
  constructor(readonly constraint: string | undefined, options?: ErrorOptions) {
    super(`The row is referenced by, or references, a missing row (${constraint ?? "?"})`, options);
  }
}

/** Raised when the database cannot be reached (refused, timed out, connection lost). */
export class DatabaseUnavailableError extends Error {
  override name = "DatabaseUnavailableError";
  constructor(options?: ErrorOptions) {
    super("The database is unavailable", options);
  }
}

/** Driver and socket codes that mean "no usable connection" rather than a bad statement. */
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

/** Maps driver errors carrying a SQLSTATE to the typed errors above; others pass through. */
export function translateError(error: unknown): unknown {
  if (typeof error !== "object" || error === null) return error;
  const { code, constraint, constraint_name } = error as {
    code?: string;
    constraint?: string;
    constraint_name?: string;
  };
  if (code && (UNAVAILABLE_CODES.has(code) || code.startsWith("08"))) {
    return new DatabaseUnavailableError({ cause: error });
  }
  if (code === "23505") {
    return new UniqueViolationError(constraint_name ?? constraint, { cause: error });
  }
  if (code === "23503" || code === "23001") {
    return new ForeignKeyViolationError(constraint_name ?? constraint, { cause: error });
  }
  return error;
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
