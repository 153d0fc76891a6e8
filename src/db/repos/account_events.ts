/**
 * The `account_events` table: what happened to an account — logins and failed logins, logouts,
 * registration, password changes, key exports, apps connected and revoked — for its owner's
 * security page and the admins. Never a password, token or secret.
 */
import type { Db } from "../db.ts";
import { toDate } from "../schema.ts";

/** One event of an account. */
export interface AccountEvent {
  id: number;
  accountId: string;
  at: Date;
  action: string;
  detail: string | null;
  ip: string | null;
}

/** Reads and writes account events. */
export class AccountEventsRepo {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /** Records one event. */
  async add(
    input: { accountId: string; action: string; detail?: string; ip?: string },
  ): Promise<void> {
    await this.db.kysely.insertInto("account_events").values({
      account_id: input.accountId,
      at: new Date(this.now()),
      action: input.action,
      detail: input.detail ?? null,
      ip: input.ip ?? null,
    }).execute();
  }

  /** The latest events of `accountId`, newest first. */
  async list(accountId: string, limit = 50): Promise<AccountEvent[]> {
    const rows = await this.db.kysely.selectFrom("account_events").selectAll()
      .where("account_id", "=", accountId).orderBy("id", "desc").limit(limit).execute();
    return rows.map((row) => ({
      id: Number(row.id),
      accountId: row.account_id,
      at: toDate(row.at),
      action: row.action,
      detail: row.detail,
      ip: row.ip,
    }));
  }

  /** How many `action` events `accountId` had since `since` (ms). */
  async countSince(accountId: string, action: string, since: number): Promise<number> {
    const row = await this.db.kysely.selectFrom("account_events")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .where("account_id", "=", accountId).where("action", "=", action)
      .where("at", ">", new Date(since)).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Deletes events older than `before` (ms), at most `limit`; returns how many. */
  async prune(before: number, limit = 5_000): Promise<number> {
    const rows = await this.db.kysely.deleteFrom("account_events")
      .where(
        "id",
        "in",
        (eb) =>
          eb.selectFrom("account_events").select("id").where("at", "<", new Date(before))
            .limit(limit),
      )
      .returning("id").execute();
    return rows.length;
  }
}
