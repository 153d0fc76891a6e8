/** The `nip98_replays` table: NIP-98 event ids accepted, kept until they could not be replayed. */
import type { Db } from "../db.ts";

/** Most expired ids one prune statement deletes. */
const PRUNE_BATCH = 1_000;

/** Remembers accepted NIP-98 events across restarts. */
export class Nip98ReplaysRepo {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /**
   * Records `eventId` until `expiresAtMs`: `fresh` when it was not recorded yet, `replay` when it
   * was (one statement, so two requests with the same event cannot both be fresh).
   */
  async remember(eventId: string, expiresAtMs: number): Promise<"fresh" | "replay"> {
    const inserted = await this.db.kysely.insertInto("nip98_replays")
      .values({ event_id: eventId, expires_at: new Date(expiresAtMs) })
      .onConflict((conflict) => conflict.column("event_id").doNothing())
      .returning("event_id")
      .executeTakeFirst();
    return inserted ? "fresh" : "replay";
  }

  /** Deletes up to 1,000 expired ids; returns how many. */
  async pruneExpired(): Promise<number> {
    const now = new Date(this.now());
    const expired = this.db.kysely.selectFrom("nip98_replays").select("event_id")
      .where("expires_at", "<", now).limit(PRUNE_BATCH);
    const result = await this.db.kysely.deleteFrom("nip98_replays")
      .where("event_id", "in", expired).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
