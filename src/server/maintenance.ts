/**
 * Periodic housekeeping of the database: audit rows older than `--audit-retention` and expired
 * NIP-98 replay ids are deleted in batches of 1,000, with a pause between batches, so a large
 * backlog never holds the database (or SQLite's write lock) for long.
 */
import type { Repos } from "../db/repos/repos.ts";
import type { Log } from "../log.ts";
import { delay } from "../util/async.ts";

/** Options of {@link Maintenance}. */
export interface MaintenanceOptions {
  repos: Pick<Repos, "audit" | "nip98Replays">;
  log: Log;
  /** How long audit rows are kept, in seconds; null keeps them. */
  auditRetentionSeconds: number | null;
  /** Time between rounds, in ms. Default 600_000 (10 minutes). */
  intervalMs?: number;
  /** Pause between two delete batches, in ms. Default 50. */
  batchPauseMs?: number;
  /** Most batches per table per round. Default 1_000 (a million rows). */
  maxBatches?: number;
  /** Clock in ms. Default `Date.now`. */
  now?: () => number;
}

/** What one round deleted. */
export interface MaintenanceRound {
  auditRows: number;
  replayIds: number;
}

/** Runs {@link Maintenance.runOnce} every `intervalMs` until disposed. */
export class Maintenance implements AsyncDisposable {
  readonly #o: Required<MaintenanceOptions>;
  readonly #stop = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<unknown> | undefined;

  constructor(options: MaintenanceOptions) {
    this.#o = {
      intervalMs: 600_000,
      batchPauseMs: 50,
      maxBatches: 1_000,
      now: Date.now,
      ...options,
    };
  }

  /** Schedules the first round after `firstDelayMs` (default one minute), then every interval. */
  start(firstDelayMs = 60_000): void {
    this.#schedule(firstDelayMs);
  }

  /** One round: prunes both tables; a failure is logged and retried next round. */
  async runOnce(): Promise<MaintenanceRound> {
    const round = { auditRows: 0, replayIds: 0 };
    try {
      const retention = this.#o.auditRetentionSeconds;
      if (retention !== null) {
        const before = new Date(this.#o.now() - retention * 1000);
        round.auditRows = await this.#inBatches(() => this.#o.repos.audit.pruneBefore(before));
      }
      round.replayIds = await this.#inBatches(() => this.#o.repos.nip98Replays.pruneExpired());
      if (round.auditRows > 0 || round.replayIds > 0) {
        this.#o.log({ level: "info", ns: "maintenance", msg: "Pruned old rows", ...round });
      }
    } catch (error) {
      this.#o.log({ level: "warn", ns: "maintenance", msg: "Cannot prune old rows", error });
    }
    return round;
  }

  async #inBatches(prune: () => Promise<number>): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < this.#o.maxBatches && !this.#stop.signal.aborted; batch++) {
      const deleted = await prune();
      total += deleted;
      if (deleted < 1_000) break;
      await delay(this.#o.batchPauseMs, { signal: this.#stop.signal }).catch(() => {});
    }
    return total;
  }

  #schedule(ms: number): void {
    if (this.#stop.signal.aborted) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce().finally(() => this.#schedule(this.#o.intervalMs));
    }, ms);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#timer);
    await this.#running;
  }
}
