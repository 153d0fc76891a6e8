/**
 * Writes audit decisions off the reply path: `record()` only appends to an in-memory buffer; a
 * timer flushes batches with one statement each.
 *
 * - Bounded: while the database is unreachable the buffer keeps the newest `maxBuffered` rows and
 *   counts the ones it had to drop; retries back off (250 ms doubling to 30 s) and say so at warn
 *   with the number of rows waiting.
 * - One bad row cannot stop the log: a batch the database refuses for its values (a data or
 *   constraint error, `isDataError`) is split in halves until the refused rows are alone; those
 *   are set aside and counted (`rejected`, with one warning per 30 s), the rest land. Any other
 *   error — an outage, a full disk, a read-only database, a cancelled statement — is the
 *   database's, not a row's: the rows not yet written stay queued (bounded) for the retry.
 * - Strangers cannot flood the table: rows from clients that never connected are limited per
 *   client pubkey (a token bucket, 10 a minute by default); the excess is counted
 *   (`suppressed`), not written. Rows of connected clients are never limited.
 * - Text fields are capped here (method 64, reason 512 characters); control characters and lone
 *   surrogates are replaced at the database boundary (`src/db/sanitize.ts`).
 */
import { isDataError } from "../db/db.ts";
import type { AuditEntry } from "../db/repos/audit.ts";
import type { Log } from "../log.ts";
import { BucketStore } from "../policy/token_bucket.ts";

/** Where batches go (the audit repository). */
export interface AuditSink {
  insertMany(entries: readonly AuditEntry[]): Promise<void>;
}

/** Counters for /health and /metrics. */
export interface AuditStats {
  /** Rows waiting to be written. */
  buffered: number;
  /** Rows dropped because the buffer was full. */
  dropped: number;
  /** Rows written. */
  written: number;
  /** Failed flush attempts. */
  failures: number;
  /** Rows the database refused on their own (set aside so the rest could land). */
  rejected: number;
  /** Rows of never-connected clients not written because they came too fast. */
  suppressed: number;
}

/** Options of {@link AuditWriter}. */
export interface AuditWriterOptions {
  sink: AuditSink;
  log: Log;
  /** Most rows held while the database is slow or down. Default 10_000. */
  maxBuffered?: number;
  /** Most rows per statement. Default 500. */
  batchSize?: number;
  /** Delay between flushes, in ms. Default 250. */
  flushIntervalMs?: number;
  /** Longest delay between retries while writes fail, in ms. Default 30_000. */
  maxRetryMs?: number;
  /** Rows a never-connected client may leave per minute. Default 10. */
  strangerRowsPerMinute?: number;
  /** Never-connected clients tracked at once (older ones are forgotten). Default 10_000. */
  maxStrangers?: number;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
}

/** Longest `method` kept, in characters. */
export const MAX_METHOD_CHARS = 64;
/** Longest `reason` kept, in characters. */
export const MAX_REASON_CHARS = 512;
/** Shortest time between two warnings of one kind (write failures, rows set aside), in ms. */
const WARN_INTERVAL_MS = 30_000;

/** A batch the database refused as a whole: the rows not written, and why. */
interface FailedWrite {
  error: unknown;
  unwritten: AuditEntry[];
}

/** Buffers decisions and writes them in batches. */
export class AuditWriter implements AsyncDisposable {
  readonly #o: Required<AuditWriterOptions>;
  #buffer: AuditEntry[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;
  /** Consecutive failed flushes; decides the retry delay. */
  #failing = 0;
  #lastWarnAt = -Infinity;
  #lastRejectWarnAt = -Infinity;
  /** Rows set aside since the last warning about one. */
  #rejectedUnreported = 0;
  /** Rows of the batch being inserted right now (out of the buffer, not yet written). */
  #inflight = 0;
  readonly #strangers: BucketStore;
  readonly #stats = { dropped: 0, written: 0, failures: 0, rejected: 0, suppressed: 0 };

  constructor(options: AuditWriterOptions) {
    this.#o = {
      maxBuffered: 10_000,
      batchSize: 500,
      flushIntervalMs: 250,
      maxRetryMs: 30_000,
      strangerRowsPerMinute: 10,
      maxStrangers: 10_000,
      now: Date.now,
      ...options,
    };
    this.#strangers = new BucketStore(this.#o.maxStrangers);
  }

  /** Current counters. */
  get stats(): AuditStats {
    return { buffered: this.#buffer.length + this.#inflight, ...this.#stats };
  }

  /**
   * Queues one decision; never blocks, never throws. `connected: false` marks a client that never
   * connected to the authorization: its rows are rate-limited per client pubkey.
   */
  record(entry: AuditEntry, opts: { connected?: boolean } = {}): void {
    if (this.#closed) {
      this.#stats.dropped++;
      return;
    }
    if (
      opts.connected === false && entry.clientPubkey && !this.#admitStranger(entry.clientPubkey)
    ) {
      this.#stats.suppressed++;
      return;
    }
    this.#buffer.push(capped(entry));
    this.#trim();
    this.#schedule();
  }

  /** Writes everything buffered now; resolves when the attempt ends (rows stay on failure). */
  flush(): Promise<void> {
    this.#flushing ??= this.#flushAll().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  #admitStranger(clientPubkey: string): boolean {
    const now = this.#o.now();
    const perMinute = this.#o.strangerRowsPerMinute;
    const bucket = this.#strangers.get(clientPubkey, { perMinute, burst: perMinute }, now);
    if (bucket.waitMs(now) > 0) return false;
    bucket.take(now);
    return true;
  }

  #schedule(delayMs = this.#o.flushIntervalMs): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(async () => {
      this.#timer = undefined;
      await this.flush();
      if (this.#buffer.length > 0) this.#schedule(this.#retryDelay());
    }, delayMs);
  }

  #retryDelay(): number {
    if (this.#failing === 0) return this.#o.flushIntervalMs;
    return Math.min(this.#o.flushIntervalMs * 2 ** this.#failing, this.#o.maxRetryMs);
  }

  async #flushAll(): Promise<void> {
    while (this.#buffer.length > 0) {
      const batch = this.#buffer.splice(0, this.#o.batchSize);
      this.#inflight = batch.length;
      const failed = await this.#write(batch);
      this.#inflight = 0;
      if (failed) {
        // Put the unwritten rows back in front of rows recorded meanwhile, keep only the newest.
        this.#buffer = failed.unwritten.concat(this.#buffer);
        this.#trim();
        this.#stats.failures++;
        this.#failing++;
        this.#warn(failed.error);
        return;
      }
      if (this.#failing > 0) {
        this.#o.log({ level: "info", ns: "audit", msg: "Audit writes recovered" });
      }
      this.#failing = 0;
    }
  }

  /**
   * Writes `batch`; a data error splits it in halves until the refused rows are alone and set
   * aside. Any other error ends the write: the rows not written are returned with it.
   */
  async #write(batch: AuditEntry[]): Promise<FailedWrite | undefined> {
    try {
      await this.#o.sink.insertMany(batch);
      this.#stats.written += batch.length;
      return undefined;
    } catch (error: unknown) {
      if (!isDataError(error)) return { error, unwritten: batch };
      if (batch.length === 1) {
        this.#setAside(batch[0]!, error);
        return undefined;
      }
      const half = Math.ceil(batch.length / 2);
      const first = await this.#write(batch.slice(0, half));
      if (first) {
        return { error: first.error, unwritten: first.unwritten.concat(batch.slice(half)) };
      }
      return await this.#write(batch.slice(half));
    }
  }

  #setAside(entry: AuditEntry, error: unknown): void {
    this.#stats.rejected++;
    this.#rejectedUnreported++;
    const now = this.#o.now();
    if (now - this.#lastRejectWarnAt < WARN_INTERVAL_MS) return;
    this.#lastRejectWarnAt = now;
    this.#o.log({
      level: "warn",
      ns: "audit",
      msg: "The database refused an audit row; set it aside",
      method: entry.method,
      // This one included: how many were set aside since the previous warning.
      setAside: this.#rejectedUnreported,
      error,
    });
    this.#rejectedUnreported = 0;
  }

  #warn(error: unknown): void {
    const now = this.#o.now();
    if (now - this.#lastWarnAt < WARN_INTERVAL_MS) return;
    this.#lastWarnAt = now;
    this.#o.log({
      level: "warn",
      ns: "audit",
      msg: "Cannot write audit rows; buffering and retrying",
      buffered: this.#buffer.length,
      retryInMs: this.#retryDelay(),
      error,
    });
  }

  #trim(): void {
    const excess = this.#buffer.length - this.#o.maxBuffered;
    if (excess <= 0) return;
    this.#buffer.splice(0, excess);
    this.#stats.dropped += excess;
  }

  /** Stops the timer and makes one last attempt to write what is buffered. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}

/** `entry` with its free-text fields cut to their caps. */
function capped(entry: AuditEntry): AuditEntry {
  const { method, reason } = entry;
  if (method.length <= MAX_METHOD_CHARS && (reason?.length ?? 0) <= MAX_REASON_CHARS) return entry;
  return {
    ...entry,
    method: method.slice(0, MAX_METHOD_CHARS),
    reason: reason === null ? null : reason.slice(0, MAX_REASON_CHARS),
  };
}
