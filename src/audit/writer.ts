/**
 * Writes audit decisions off the reply path: `record()` only appends to an in-memory buffer; a
 * timer flushes batches with one INSERT each. When the database is unreachable the buffer keeps
 * the newest `maxBuffered` rows and counts the ones it had to drop, so memory stays bounded and
 * `/health` can say how much was lost. A failed batch goes back to the front and is retried on
 * the next tick, so order is kept.
 */
import type { AuditEntry } from "../db/repos/audit.ts";
import type { Log } from "../log.ts";

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
}

/** Options of {@link AuditWriter}. */
export interface AuditWriterOptions {
  sink: AuditSink;
  log: Log;
  /** Most rows held while the database is slow or down. Default 10_000. */
  maxBuffered?: number;
  /** Most rows per INSERT. Default 500. */
  batchSize?: number;
  /** Delay between flushes, in ms. Default 250. */
  flushIntervalMs?: number;
}

/** Buffers decisions and writes them in batches. */
export class AuditWriter implements AsyncDisposable {
  readonly #o: Required<AuditWriterOptions>;
  #buffer: AuditEntry[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> | undefined;
  #closed = false;
  #failing = false;
  /** Rows of the batch being inserted right now (out of the buffer, not yet written). */
  #inflight = 0;
  readonly #stats = { dropped: 0, written: 0, failures: 0 };

  constructor(options: AuditWriterOptions) {
    this.#o = { maxBuffered: 10_000, batchSize: 500, flushIntervalMs: 250, ...options };
  }

  /** Current counters. */
  get stats(): AuditStats {
    return { buffered: this.#buffer.length + this.#inflight, ...this.#stats };
  }

  /** Queues one decision; never blocks, never throws. */
  record(entry: AuditEntry): void {
    if (this.#closed) {
      this.#stats.dropped++;
      return;
    }
    this.#buffer.push(entry);
    this.#trim();
    this.#schedule();
  }

  /** Writes everything buffered now; resolves when the attempt ends (rows stay on failure). */
  flush(): Promise<void> {
    this.#flushing ??= this.#flushAll().finally(() => (this.#flushing = undefined));
    return this.#flushing;
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    this.#timer = setTimeout(async () => {
      this.#timer = undefined;
      await this.flush();
      if (this.#buffer.length > 0) this.#schedule();
    }, this.#o.flushIntervalMs);
  }

  async #flushAll(): Promise<void> {
    while (this.#buffer.length > 0) {
      const batch = this.#buffer.splice(0, this.#o.batchSize);
      this.#inflight = batch.length;
      try {
        await this.#o.sink.insertMany(batch);
      } catch (error) {
        this.#inflight = 0;
        // Put the batch back in front of rows recorded meanwhile, then keep only the newest.
        this.#buffer = batch.concat(this.#buffer);
        this.#trim();
        this.#stats.failures++;
        if (!this.#failing) {
          this.#o.log({
            level: "warn",
            ns: "audit",
            msg: "Cannot write audit rows; buffering",
            error,
          });
        }
        this.#failing = true;
        return;
      }
      this.#inflight = 0;
      if (this.#failing) this.#o.log({ level: "info", ns: "audit", msg: "Audit writes recovered" });
      this.#failing = false;
      this.#stats.written += batch.length;
    }
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
