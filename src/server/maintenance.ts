/**
 * Periodic housekeeping of the database: audit rows and account events older than
 * `--audit-retention`, expired NIP-98 replay ids and ended web sessions are deleted in batches of
 * 1,000, with a pause between batches, so a large backlog never holds the database (or SQLite's
 * write lock) for long.
 */
import type { Repos } from "../db/repos/repos.ts";
import type { Log } from "../log.ts";
import { delay } from "../util/async.ts";

/** Options of {@link Maintenance}. */
export interface MaintenanceOptions {
  repos:
    & Pick<Repos, "audit" | "nip98Replays">
    & Partial<Pick<Repos, "sessions" | "accountEvents" | "oauth">>;
  log: Log;
  /** How long audit rows are kept, in seconds; null keeps them. */
  auditRetentionSeconds: number | null;
  /** Web sessions unused this long (ms) are deleted; absent: sessions are not pruned. */
  sessionIdleMs?: number;
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
  accountEvents: number;
  sessions: number;
  /** Expired OAuth codes and tokens. */
  oauth: number;
}

/** Runs {@link Maintenance.runOnce} every `intervalMs` until disposed. */
export class Maintenance implements AsyncDisposable {
  readonly #o: Required<Omit<MaintenanceOptions, "sessionIdleMs">> & {
    sessionIdleMs?: number;
  };
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
    const round = { auditRows: 0, replayIds: 0, accountEvents: 0, sessions: 0, oauth: 0 };
    const { repos } = this.#o;
    try {
      const retention = this.#o.auditRetentionSeconds;
      if (retention !== null) {
        const before = new Date(this.#o.now() - retention * 1000);
        round.auditRows = await this.#inBatches(() => repos.audit.pruneBefore(before));
        const events = repos.accountEvents;
        if (events) {
          round.accountEvents = await this.#inBatches(() => events.prune(before.getTime(), 1_000));
        }
      }
      round.replayIds = await this.#inBatches(() => repos.nip98Replays.pruneExpired());
      if (repos.sessions && this.#o.sessionIdleMs !== undefined) {
        round.sessions = await repos.sessions.prune(this.#o.sessionIdleMs);
      }
      if (repos.oauth) round.oauth = await repos.oauth.prune(this.#o.now());
      if (Object.values(round).some((count) => count > 0)) {
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
