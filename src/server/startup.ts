/**
 * The checks `serve` makes before it initializes anything, and the ones that need the database,
 * each failing with one line that names the cause and the fix ({@link StartupError}):
 *
 * 1. the port is free (probed first, so a second `serve` creates no key, file or table);
 * 2. the data dir exists or can be created, with mode 0700;
 * 3. one process per data dir: an exclusive lock on `<data-dir>/keycast.lock` (the embedded
 *    database is single-process; see {@link lockDataDir});
 * 4. the database opens and migrates — an unreachable PostgreSQL is retried with backoff for
 *    `--database-wait` (a service started before PostgreSQL works);
 * 5. one `serve` per PostgreSQL database, until several instances are supported: a session-level
 *    advisory lock ({@link lockDatabase}).
 */
import { join } from "node:path";
import type { Config } from "../config/config.ts";
import { DatabaseUnavailableError, type Db } from "../db/db.ts";
import { openDatabase } from "../db/open.ts";
import { SqliteOpenError } from "../db/sqlite.ts";
import type { Log } from "../log.ts";
import { delay } from "../util/async.ts";

/**
 * A startup failure the operator must fix; `main.ts` prints the one-line message and exits with
 * `exitCode`: 2 for configuration (a flag, a key file), 1 for the environment (a busy port, a
 * database that cannot be reached or opened, another process holding the data dir).
 */
export class StartupError extends Error {
  override name = "StartupError";
  /** The process exit code. */
  readonly exitCode: number;

  constructor(message: string, options: ErrorOptions & { exitCode?: number } = {}) {
    super(message, options);
    this.exitCode = options.exitCode ?? 2;
  }
}

/** Fails when `hostname:port` cannot be bound (port 0 always can). */
export function probePort(hostname: string, port: number): void {
  if (port === 0) return;
  try {
    Deno.listen({ hostname, port, transport: "tcp" }).close();
  } catch (error: unknown) {
    throw listenError(hostname, port, error);
  }
}

/** The {@link StartupError} for a failed bind of `hostname:port`. */
export function listenError(hostname: string, port: number, error: unknown): StartupError {
  const where = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
  if (error instanceof Deno.errors.AddrInUse) {
    return new StartupError(
      `Cannot listen on ${where}: the address is in use (is keycast already running?); ` +
        "stop the other process or choose another --port",
      { cause: error, exitCode: 1 },
    );
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new StartupError(
      `Cannot listen on ${where}: no network interface has that address; check --host`,
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new StartupError(
      `Cannot listen on ${where}: permission denied (ports below 1024 need privileges); ` +
        "choose a --port above 1023",
      { cause: error },
    );
  }
  return new StartupError(`Cannot listen on ${where}: ${describe(error)}`, {
    cause: error,
    exitCode: 1,
  });
}

/** Creates the data dir (mode 0700) when missing; fails naming it when that is impossible. */
export async function prepareDataDir(dataDir: string): Promise<void> {
  try {
    await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
    const info = await Deno.stat(dataDir);
    if (!info.isDirectory) throw new Error("it is not a directory");
  } catch (error: unknown) {
    throw new StartupError(
      `Cannot use the data directory "${dataDir}": ${describe(error)}; ` +
        "choose another --data-dir or fix its permissions",
      { cause: error },
    );
  }
}

/** The lock file of a data dir. */
export const LOCK_FILE = "keycast.lock";

/**
 * Takes an exclusive lock on `<dataDir>/keycast.lock` (released when the process exits, even when
 * it is killed) and writes this process's pid in it; a second process fails with the pid of the
 * holder, its message starting "Cannot <action>:" (default "start"). Dispose to release.
 */
export async function lockDataDir(dataDir: string, action = "start"): Promise<Disposable> {
  const path = join(dataDir, LOCK_FILE);
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  try {
    const locked = await tryLock(file);
    if (!locked) {
      const holder = (await Deno.readTextFile(path).catch(() => "")).trim() || "unknown";
      throw new StartupError(
        `Cannot ${action}: another keycast (pid ${holder}) is using the data directory ` +
          `"${dataDir}"; stop it first, or give this one another --data-dir`,
        { exitCode: 1 },
      );
    }
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  } catch (error: unknown) {
    file.close();
    throw error;
  }
  return {
    [Symbol.dispose]: () => {
      file.unlockSync();
      file.close();
    },
  };
}

/** Locks `file` exclusively without waiting: false when another process holds it. */
function tryLock(file: Deno.FsFile): Promise<boolean> {
  return file.tryLock(true);
}

/**
 * Opens and migrates the configured database. An unreachable PostgreSQL is retried with
 * exponential backoff (0.5 s doubling up to 5 s) until `config.databaseWaitSeconds` passed; every
 * other failure ends startup at once with one line.
 */
export async function openDatabaseAtStart(
  config: Config,
  log: Log,
  now: () => number = Date.now,
): Promise<{ db: Db; applied: string[] }> {
  const until = now() + config.databaseWaitSeconds * 1000;
  for (let wait = 500;; wait = Math.min(wait * 2, 5_000)) {
    try {
      return await openDatabase(config);
    } catch (error: unknown) {
      if (error instanceof SqliteOpenError) {
        throw new StartupError(error.message, { cause: error, exitCode: 1 });
      }
      if (!(error instanceof DatabaseUnavailableError) || now() + wait > until) {
        throw databaseError(config, error);
      }
      log({
        level: "warn",
        ns: "serve",
        msg: "The database does not answer yet; retrying",
        database: redactedDatabase(config.databaseUrl),
        retryInMs: wait,
        reason: error.reason,
      });
      await delay(wait);
    }
  }
}

function databaseError(config: Config, error: unknown): StartupError {
  const where = redactedDatabase(config.databaseUrl);
  const code = (error as { cause?: { code?: unknown }; code?: unknown } | null)?.code ??
    (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  if (code === "3D000") {
    return new StartupError(
      `Cannot open the database at ${where}: it does not exist; create it (createdb) or fix ` +
        "DATABASE_URL",
      { cause: error, exitCode: 1 },
    );
  }
  if (code === "28P01" || code === "28000") {
    return new StartupError(
      `Cannot open the database at ${where}: the server refused the credentials; fix the user ` +
        "or password in DATABASE_URL",
      { cause: error, exitCode: 1 },
    );
  }
  if (error instanceof DatabaseUnavailableError) {
    return new StartupError(
      `Cannot reach the database at ${where} (${error.reason}) after ` +
        `${config.databaseWaitSeconds} s: start PostgreSQL or fix DATABASE_URL ` +
        "(--database-wait sets how long to wait)",
      { cause: error, exitCode: 1 },
    );
  }
  return new StartupError(`Cannot open the database at ${where}: ${describe(error)}`, {
    cause: error,
    exitCode: 1,
  });
}

/** `host:port/name` of a PostgreSQL URL (never its user or password), or the embedded file. */
export function redactedDatabase(databaseUrl: string | undefined): string {
  if (!databaseUrl) return "the data directory";
  try {
    const url = new URL(databaseUrl);
    return `${url.hostname}:${url.port || "5432"}${url.pathname}`;
  } catch (_error: unknown) {
    return "DATABASE_URL";
  }
}

/** A lock key no other application is likely to use: "keycast" in ASCII. */
const INSTANCE_LOCK_KEY = 0x6b65_7963_6173_74n & 0x7fff_ffff_ffff_ffffn;

/**
 * Holds a session-level advisory lock on the PostgreSQL database for as long as this process
 * runs, so a second `serve` on the same database refuses to start. The lock lives on its own
 * connection; if that connection drops, the lock is taken again when it comes back (and a warning
 * is logged if another process took it meanwhile). Dispose to release.
 */
export async function lockDatabase(databaseUrl: string, log: Log): Promise<AsyncDisposable> {
  // Loaded only with PostgreSQL, like the database driver itself.
  const { default: postgres } = await import("postgres");
  const sql = postgres(databaseUrl, {
    max: 1,
    idle_timeout: 0,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: "keycast-instance-lock" },
  });
  const tryLock = async () => {
    const [row] = await sql`select pg_try_advisory_lock(${INSTANCE_LOCK_KEY.toString()}::bigint)
      as locked`;
    return row?.locked === true;
  };
  const holds = async () => {
    const [row] = await sql`select exists (select 1 from pg_locks where locktype = 'advisory'
      and pid = pg_backend_pid() and granted) as held`;
    return row?.held === true;
  };
  try {
    if (!await tryLock()) {
      const [holder] = await sql`select application_name, client_addr::text as address
        from pg_stat_activity where pid in (select pid from pg_locks where locktype = 'advisory'
        and granted and objid = ${Number(INSTANCE_LOCK_KEY & 0xffff_ffffn)})
        limit 1`.catch(() => []);
      throw new StartupError(
        `Cannot start: another keycast is already serving the database at ` +
          `${redactedDatabase(databaseUrl)}${
            holder?.address ? ` (from ${holder.address})` : ""
          }; running several instances on one database is not supported yet`,
        { exitCode: 1 },
      );
    }
  } catch (error: unknown) {
    await sql.end({ timeout: 1 });
    throw error;
  }
  const timer = setInterval(async () => {
    try {
      if (await holds() || await tryLock()) return;
      log({
        level: "error",
        ns: "serve",
        msg: "Another keycast took the database's instance lock after a reconnect",
      });
    } catch (_error: unknown) {
      // The database is unreachable: the health checks report it; try again next time.
    }
  }, 10_000);
  return {
    [Symbol.asyncDispose]: async () => {
      clearInterval(timer);
      await sql.end({ timeout: 1 });
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotFound) return "a parent directory does not exist";
  return error instanceof Error ? error.message : String(error);
}
