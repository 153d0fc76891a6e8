/**
 * One keycast per PostgreSQL database — or several, all with `--cluster` — through a session-level
 * advisory lock, held on a connection of its own for as long as the process runs: a keycast
 * without `--cluster` takes it exclusively, cluster instances take it shared, so neither kind can
 * start beside the other (how cluster instances share the work is `src/cluster/`).
 *
 * The lock lives and dies with that connection's session. When the connection drops, PostgreSQL
 * releases the lock, and another keycast could take it and serve beside this one. So the lock is
 * checked every few seconds ({@link LockWatch}): after a reconnect it is taken again; when another
 * process holds it, or it cannot be confirmed for `graceMs` (the database does not answer this
 * process, but may answer others), it is lost: one error line, then `onLost` — `serve` stops
 * (fail closed), exit 1.
 */
import type { Log } from "../log.ts";
import { deadline, TimeoutError } from "../util/async.ts";
import { redactedDatabase, StartupError } from "./startup.ts";

/** The advisory lock's key, one no other application is likely to use: "keycast" in ASCII. */
export const INSTANCE_LOCK_KEY: bigint = 0x6b65_7963_6173_74n & 0x7fff_ffff_ffff_ffffn;
/** How `pg_locks` shows a bigint advisory key: its high half as `classid`, low half as `objid`. */
const LOCK_CLASSID = Number(INSTANCE_LOCK_KEY >> 32n);
const LOCK_OBJID = Number(INSTANCE_LOCK_KEY & 0xffff_ffffn);

/** Default time between checks of the lock, in ms. */
export const LOCK_CHECK_INTERVAL_MS = 5_000;
/** Default time the lock may go unconfirmed before it counts as lost, in ms. */
export const LOCK_GRACE_MS = 30_000;

/** Options of {@link lockDatabase}. */
export interface InstanceLockOptions {
  /**
   * Take the lock shared (`serve --cluster`): cluster instances hold it together, and each of them
   * keeps out a keycast without `--cluster` (which takes it exclusively), and the reverse.
   */
  shared?: boolean;
  /** What the refusal says cannot be done: "Cannot <action>: …". Default "start". */
  action?: "start" | "migrate";
  /**
   * Called once when the lock is lost, after the error line; the lock is watched only when this
   * is given (a short command such as `migrate` ends before a check would run).
   */
  onLost?: () => void;
  /** Time between checks of the lock, in ms. Default {@link LOCK_CHECK_INTERVAL_MS}. */
  checkIntervalMs?: number;
  /** Time the lock may go unconfirmed before it is lost, in ms. Default {@link LOCK_GRACE_MS}. */
  graceMs?: number;
  /** Longest wait for one check, in ms. Default `checkIntervalMs`, at most 10_000. */
  probeTimeoutMs?: number;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
}

/** A held instance lock. Dispose to release it. */
export interface InstanceLock extends AsyncDisposable {
  /** Checks the lock now, as the timer does every `checkIntervalMs`. */
  check(): Promise<void>;
}

/**
 * Takes the instance lock of the PostgreSQL database at `databaseUrl`; a second process fails
 * with a {@link StartupError} saying another keycast serves it (see the module doc).
 */
export async function lockDatabase(
  databaseUrl: string,
  log: Log,
  options: InstanceLockOptions = {},
): Promise<InstanceLock> {
  // Loaded only with PostgreSQL, like the database driver itself.
  const { default: postgres } = await import("postgres");
  const connect = () =>
    postgres(databaseUrl, {
      max: 1,
      idle_timeout: 0,
      connect_timeout: 10,
      onnotice: () => {},
      connection: { application_name: "keycast-instance-lock" },
    });
  let sql = connect();
  /** Connections given up on (see `reset`), still closing. */
  const closing = new Set<Promise<void>>();
  /** The backend that last took the lock for this process. */
  let ownPid: number | undefined;
  const key = INSTANCE_LOCK_KEY.toString();
  const shared = options.shared === true;
  const tryLock = async () => {
    const [row] = shared
      ? await sql`select pg_try_advisory_lock_shared(${key}::bigint) as locked,
        pg_backend_pid() as pid`
      : await sql`select pg_try_advisory_lock(${key}::bigint) as locked,
        pg_backend_pid() as pid`;
    if (row?.locked === true) ownPid = Number(row.pid);
    return row?.locked === true;
  };
  const holderPids = async (): Promise<number[]> => {
    // pg_locks lists the locks of every database on the server: only this one's count here.
    const rows = await sql`select pid from pg_locks where locktype = 'advisory' and granted
      and database = (select oid from pg_database where datname = current_database())
      and classid = ${LOCK_CLASSID} and objid = ${LOCK_OBJID} and objsubid = 1`;
    return rows.map((row) => Number(row.pid));
  };
  const look = async (): Promise<LockState> => {
    const [row] = await sql`select pg_backend_pid() as pid`;
    if ((await holderPids()).includes(Number(row?.pid))) return "held";
    if (await tryLock()) return "retaken";
    if (ownPid !== undefined && (await holderPids()).includes(ownPid)) {
      // This process's own previous session, not ended yet: neither lost nor confirmed.
      throw new Error("the lock is still held by this keycast's previous lock connection");
    }
    return "taken";
  };
  const where = redactedDatabase(databaseUrl);
  const action = options.action ?? "start";
  try {
    if (!await tryLock()) {
      const [holder] = await sql`select host(a.client_addr) as address, l.mode
        from pg_locks l left join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted
        and l.database = (select oid from pg_database where datname = current_database())
        and l.classid = ${LOCK_CLASSID} and l.objid = ${LOCK_OBJID} and l.objsubid = 1
        limit 1`.catch(() => []);
      const from = holder?.address ? ` (from ${holder.address})` : "";
      const clustered = holder?.mode === "ShareLock";
      throw new StartupError(
        `Cannot ${action}: ` +
          (shared
            ? `a keycast without --cluster is serving the database at ${where}${from}; stop it, ` +
              "or run every instance with --cluster"
            : clustered
            ? `keycast instances with --cluster are serving the database at ${where}${from}; ` +
              (action === "migrate" ? "stop them first" : "start this one with --cluster too")
            : `another keycast is already serving the database at ${where}${from}; ` +
              (action === "migrate"
                ? "stop it first"
                : "several instances on one database need --cluster on every one")),
        { exitCode: 1 },
      );
    }
  } catch (error: unknown) {
    await sql.end({ timeout: 1 });
    if (error instanceof StartupError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new StartupError(
      `Cannot ${action}: cannot take the instance lock of the database at ${where}: ${reason}`,
      { cause: error, exitCode: 1 },
    );
  }
  const checkIntervalMs = options.checkIntervalMs ?? LOCK_CHECK_INTERVAL_MS;
  const watch = new LockWatch({
    probe: look,
    // A check on a half-open connection must not hang: unanswered in time is unconfirmed.
    probeTimeoutMs: options.probeTimeoutMs ?? Math.min(checkIntervalMs, 10_000),
    // postgres.js can stay stuck reconnecting after a reset (every query then times out): a
    // probe that failed gets a new connection for the next one.
    reset: () => {
      const stale = sql;
      sql = connect();
      const ended = stale.end({ timeout: 0 }).catch(() => {}).finally(() => closing.delete(ended));
      closing.add(ended);
    },
    graceMs: options.graceMs ?? LOCK_GRACE_MS,
    now: options.now ?? Date.now,
    log,
    onLost: options.onLost ?? (() => {}),
  });
  const timer = options.onLost ? setInterval(() => void watch.check(), checkIntervalMs) : undefined;
  return {
    check: () => watch.check(),
    [Symbol.asyncDispose]: async () => {
      clearInterval(timer);
      const ending = [sql.end({ timeout: 1 }), ...closing];
      await deadline(Promise.allSettled(ending), 5_000).catch(() => {});
    },
  };
}

/** The advisory lock that lets one cluster instance at a time run the migrations. */
export const MIGRATION_LOCK_KEY: bigint = INSTANCE_LOCK_KEY - 1n;
/** Default longest wait for the migration lock, in ms: 5 minutes. */
export const MIGRATION_LOCK_TIMEOUT_MS = 300_000;
/** How much longer than the lock's timeout the database may take to answer at all, in ms. */
const MIGRATION_LOCK_ANSWER_MARGIN_MS = 15_000;
/** PostgreSQL's SQLSTATE for a lock wait cancelled by `lock_timeout`. */
const LOCK_NOT_AVAILABLE = "55P03";

/** Options of {@link withMigrationLock}. */
export interface MigrationLockOptions {
  /** Longest wait for the lock, in ms. Default {@link MIGRATION_LOCK_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/**
 * Runs `fn` (the migrations) holding the migration lock, waiting for it while another instance
 * migrates: cluster instances share the instance lock, so it no longer keeps two starts apart.
 * The wait is bounded (`lock_timeout` on the lock's connection, and a deadline a little later in
 * case the database stops answering): past it, a {@link StartupError} says another instance is
 * migrating.
 */
export async function withMigrationLock<T>(
  databaseUrl: string,
  fn: () => Promise<T>,
  options: MigrationLockOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? MIGRATION_LOCK_TIMEOUT_MS;
  const { default: postgres } = await import("postgres");
  const sql = postgres(databaseUrl, {
    max: 1,
    idle_timeout: 0,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { application_name: "keycast-migration-lock" },
  });
  try {
    const answerMs = timeoutMs + MIGRATION_LOCK_ANSWER_MARGIN_MS;
    try {
      await deadline(
        sql.begin(async (tx) => {
          // Local to this transaction; the session lock it takes outlives it.
          await tx`select set_config('lock_timeout', ${`${timeoutMs}ms`}, true)`;
          await tx`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
        }),
        answerMs,
      );
    } catch (error: unknown) {
      const where = redactedDatabase(databaseUrl);
      if ((error as { code?: unknown } | null)?.code === LOCK_NOT_AVAILABLE) {
        throw new StartupError(
          `Cannot migrate the database at ${where}: another keycast instance has been ` +
            `migrating it for more than ${timeoutMs / 1000} s (it holds the migration lock); ` +
            "start this one again once that migration has finished",
          { cause: error, exitCode: 1 },
        );
      }
      if (error instanceof TimeoutError) {
        throw new StartupError(
          `Cannot migrate the database at ${where}: it did not answer the request for the ` +
            `migration lock within ${answerMs / 1000} s`,
          { cause: error, exitCode: 1 },
        );
      }
      throw error;
    }
    return await fn();
  } finally {
    // Ending the session releases the lock.
    await sql.end({ timeout: 1 });
  }
}

/** What one look at the lock found. */
export type LockState =
  /** This session still holds it. */
  | "held"
  /** This session did not hold it (a new connection) and took it again. */
  | "retaken"
  /** Another session holds it. */
  | "taken";

/** Options of {@link LockWatch}. */
export interface LockWatchOptions {
  /** Looks at the lock; a rejection (or no answer in `probeTimeoutMs`) is "unconfirmed". */
  probe: () => Promise<LockState>;
  /** Longest wait for one probe, in ms. */
  probeTimeoutMs: number;
  /** Called after a probe failed or timed out, before the next (e.g. to replace a connection). */
  reset?: () => void;
  /** Time the lock may go unconfirmed before it counts as lost, in ms. */
  graceMs: number;
  /** Clock in ms. */
  now: () => number;
  log: Log;
  /** Called once, after the error line, when the lock is lost. */
  onLost: () => void;
}

/**
 * The decision part of the lock check: lost at once when another session holds the lock; lost
 * when no probe confirmed it for `graceMs`; a lock taken again after a reconnect is a warning.
 */
export class LockWatch {
  readonly #o: LockWatchOptions;
  #confirmedAt: number;
  #checking = false;
  #lost = false;

  constructor(options: LockWatchOptions) {
    this.#o = options;
    this.#confirmedAt = options.now();
  }

  /** True once the lock was lost (for good: it is not taken again). */
  get lost(): boolean {
    return this.#lost;
  }

  /** Looks at the lock once (a check already under way makes this one a no-op). */
  async check(): Promise<void> {
    if (this.#lost || this.#checking) return;
    this.#checking = true;
    let state: LockState | undefined;
    let problem: unknown;
    try {
      state = await deadline(this.#o.probe(), this.#o.probeTimeoutMs);
    } catch (error: unknown) {
      problem = error;
      this.#o.reset?.();
    } finally {
      this.#checking = false;
    }
    const now = this.#o.now();
    if (state === "held" || state === "retaken") {
      if (state === "retaken") {
        this.#o.log({
          level: "warn",
          ns: "serve",
          msg: "Took the database's instance lock again after its connection dropped",
          unconfirmedMs: now - this.#confirmedAt,
        });
      }
      this.#confirmedAt = now;
      return;
    }
    if (state === "taken") {
      return this.#lose("another keycast took it after this one's lock connection dropped");
    }
    if (now - this.#confirmedAt >= this.#o.graceMs) {
      const reason = problem instanceof Error ? problem.message : String(problem);
      this.#lose(
        `it could not be confirmed for ${Math.round((now - this.#confirmedAt) / 1000)} s ` +
          `(${reason}); another keycast may take it`,
      );
    }
  }

  #lose(why: string): void {
    this.#lost = true;
    this.#o.log({
      level: "error",
      ns: "serve",
      msg: `Lost the database's instance lock: ${why}; stopping, so that two keycast never ` +
        "serve one database",
    });
    this.#o.onLost();
  }
}
