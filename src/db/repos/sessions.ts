/**
 * The `sessions` table: logged-in browsers and apps. A row is keyed by the sha256 of the session
 * id the cookie holds, so the table never holds a usable session. A session ends at its
 * `expires_at` (absolute) or after `idleMs` without use, whichever comes first.
 */
import type { Db } from "../db.ts";
import { toDate } from "../schema.ts";
import type { AccountRecord } from "./accounts.ts";

/** A stored session. */
export interface SessionRecord {
  idHash: string;
  accountId: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
  userAgent: string | null;
}

/** A live session with the account it belongs to. */
export interface LiveSession {
  session: SessionRecord;
  account: Pick<AccountRecord, "id" | "username" | "role">;
}

/** Reads and writes sessions. */
export class SessionsRepo {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /** Stores a new session. */
  async create(input: {
    idHash: string;
    accountId: string;
    expiresAt: Date;
    userAgent: string | null;
  }): Promise<void> {
    const at = new Date(this.now());
    await this.db.kysely.insertInto("sessions").values({
      id_hash: input.idHash,
      account_id: input.accountId,
      created_at: at,
      last_seen_at: at,
      expires_at: input.expiresAt,
      user_agent: input.userAgent,
    }).execute();
  }

  /**
   * The session `idHash` with its account, when it has not expired, was used within `idleMs`,
   * and its account is not disabled.
   */
  async getLive(idHash: string, idleMs: number): Promise<LiveSession | undefined> {
    const now = this.now();
    const row = await this.db.kysely.selectFrom("sessions as s")
      .innerJoin("accounts as a", "a.id", "s.account_id")
      .select([
        "s.id_hash",
        "s.account_id",
        "s.created_at",
        "s.last_seen_at",
        "s.expires_at",
        "s.user_agent",
        "a.username",
        "a.role",
      ])
      .where("s.id_hash", "=", idHash)
      .where("s.expires_at", ">", new Date(now))
      .where("s.last_seen_at", ">", new Date(now - idleMs))
      .where("a.disabled_at", "is", null)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      session: toRecord(row),
      account: { id: row.account_id, username: row.username, role: row.role },
    };
  }

  /** Records that the session was used now. */
  async touch(idHash: string): Promise<void> {
    await this.db.kysely.updateTable("sessions").set({ last_seen_at: new Date(this.now()) })
      .where("id_hash", "=", idHash).execute();
  }

  /** Every session of `accountId`, most recently used first. */
  async listByAccount(accountId: string): Promise<SessionRecord[]> {
    const rows = await this.db.kysely.selectFrom("sessions").selectAll()
      .where("account_id", "=", accountId).orderBy("last_seen_at", "desc").execute();
    return rows.map(toRecord);
  }

  /** Ends one session; true when it existed. */
  async delete(idHash: string): Promise<boolean> {
    const row = await this.db.kysely.deleteFrom("sessions").where("id_hash", "=", idHash)
      .returning("id_hash").executeTakeFirst();
    return row !== undefined;
  }

  /** Ends every session of `accountId` but `keep` (when given); returns how many ended. */
  async deleteAllOf(accountId: string, keep?: string): Promise<number> {
    const rows = await this.db.kysely.deleteFrom("sessions")
      .where("account_id", "=", accountId)
      .$if(keep !== undefined, (q) => q.where("id_hash", "!=", keep!))
      .returning("id_hash").execute();
    return rows.length;
  }

  /**
   * Ends the sessions of `accountId` but `keep` (the one just started) and the `max - 1` most
   * recently used of the others that have not expired; returns how many ended.
   */
  async keepNewest(accountId: string, max: number, keep: string): Promise<number> {
    const newest = this.db.kysely.selectFrom("sessions").select("id_hash")
      .where("account_id", "=", accountId)
      .where("id_hash", "!=", keep)
      .where("expires_at", ">", new Date(this.now()))
      .orderBy("last_seen_at", "desc").orderBy("created_at", "desc").orderBy("id_hash")
      .limit(Math.max(0, max - 1));
    const rows = await this.db.kysely.deleteFrom("sessions")
      .where("account_id", "=", accountId)
      .where("id_hash", "!=", keep)
      .where("id_hash", "not in", newest)
      .returning("id_hash").execute();
    return rows.length;
  }

  /** Deletes sessions that ended (expired, or idle for `idleMs`); returns how many. */
  async prune(idleMs: number): Promise<number> {
    const now = this.now();
    const rows = await this.db.kysely.deleteFrom("sessions")
      .where((eb) =>
        eb.or([
          eb("expires_at", "<=", new Date(now)),
          eb("last_seen_at", "<=", new Date(now - idleMs)),
        ])
      )
      .returning("id_hash").execute();
    return rows.length;
  }
}

function toRecord(row: {
  id_hash: string;
  account_id: string;
  created_at: Date | number;
  last_seen_at: Date | number;
  expires_at: Date | number;
  user_agent: string | null;
}): SessionRecord {
  return {
    idHash: row.id_hash,
    accountId: row.account_id,
    createdAt: toDate(row.created_at),
    lastSeenAt: toDate(row.last_seen_at),
    expiresAt: toDate(row.expires_at),
    userAgent: row.user_agent,
  };
}
