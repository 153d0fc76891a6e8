/**
 * The checks `serve` makes before it initializes anything, and the ones that need the database,
 * each failing with one line that names the cause and the fix ({@link StartupError}):
 *
 * 1. the port is free (probed first, so a second `serve` creates no key, file or table);
 * 2. the data dir exists or can be created, with mode 0700 (made so when it was open to others);
 * 3. one process per data dir: an exclusive lock on `<data-dir>/keycast.lock` (the embedded
 *    database is single-process; see {@link lockDataDir});
 * 4. the database opens — an unreachable PostgreSQL is retried with backoff for
 *    `--database-wait` (a service started before PostgreSQL works);
 * 5. one `serve` per PostgreSQL database: the instance lock (`instance_lock.ts`).
 *
 * What follows — the master key check, then the migrations — is `database.ts`.
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

/**
 * Creates the data dir (mode 0700) when missing; one that exists but is open to its group or to
 * others (it holds the master key, the admin token and the embedded database) is made 0700, with
 * a warning on `log`. Fails naming the dir when it cannot be created, used or made private.
 */
export async function prepareDataDir(dataDir: string, log?: Log): Promise<void> {
  let info: Deno.FileInfo;
  try {
    await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
    info = await Deno.stat(dataDir);
    if (!info.isDirectory) throw new Error("it is not a directory");
  } catch (error: unknown) {
    throw new StartupError(
      `Cannot use the data directory "${dataDir}": ${describe(error)}; ` +
        "choose another --data-dir or fix its permissions",
      { cause: error },
    );
  }
  // Windows has no mode bits (null); its ACLs are the installer's business.
  const mode = info.mode === null ? 0 : info.mode & 0o777;
  if ((mode & 0o077) === 0) return;
  try {
    await Deno.chmod(dataDir, 0o700);
  } catch (error: unknown) {
    throw new StartupError(
      `Cannot make the data directory "${dataDir}" private: ${describe(error)}; it is open to ` +
        `other users (mode ${octal(mode)}): run chmod 700 on it as its owner`,
      { cause: error },
    );
  }
  log?.({
    level: "warn",
    ns: "serve",
    msg: "The data directory was open to other users; made it private (mode 0700)",
    path: dataDir,
    mode: octal(mode),
  });
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, "0")}`;
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
 * Opens the configured database (without migrating it). An unreachable PostgreSQL is retried with
 * exponential backoff (0.5 s doubling up to 5 s) until `config.databaseWaitSeconds` passed; every
 * other failure ends startup at once with one line.
 */
export async function openDatabaseAtStart(
  config: Config,
  log: Log,
  now: () => number = Date.now,
): Promise<Db> {
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

function describe(error: unknown): string {
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotFound) return "a parent directory does not exist";
  return error instanceof Error ? error.message : String(error);
}
