/**
 * The `invites` table: single-use registration codes with an expiry, stored as the sha256 of the
 * code (the code is shown once, to the admin who made it). Redeeming happens inside registration
 * (`AccountsRepo.register`).
 */
import type { Db } from "../db.ts";
import { toDate, toDateOrNull } from "../schema.ts";
import type { Role } from "./accounts.ts";

/** A stored invite (without its code, which is never stored). */
export interface InviteRecord {
  id: string;
  role: Role;
  createdBy: string | null;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  /** Username of the account that used it, while that account exists. */
  usedByUsername: string | null;
}

/** Reads and writes invites. */
export class InvitesRepo {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /** Stores a new invite. */
  async create(input: {
    id: string;
    codeHash: string;
    role: Role;
    createdBy: string | null;
    expiresAt: Date;
  }): Promise<InviteRecord> {
    await this.db.kysely.insertInto("invites").values({
      id: input.id,
      code_hash: input.codeHash,
      role: input.role,
      created_by: input.createdBy,
      created_at: new Date(this.now()),
      expires_at: input.expiresAt,
    }).execute();
    const [invite] = await this.#select().where("i.id", "=", input.id).execute();
    return toRecord(invite!);
  }

  /** Whether an invite with sha256 `codeHash` exists, is unused and has not expired. */
  async isUsable(codeHash: string): Promise<boolean> {
    const row = await this.db.kysely.selectFrom("invites").select("id")
      .where("code_hash", "=", codeHash).where("used_at", "is", null)
      .where("expires_at", ">", new Date(this.now())).executeTakeFirst();
    return row !== undefined;
  }

  /** Every invite, newest first. */
  async list(): Promise<InviteRecord[]> {
    const rows = await this.#select().orderBy("i.created_at", "desc").orderBy("i.id").execute();
    return rows.map(toRecord);
  }

  /** Deletes an unused invite; true when there was one. */
  async deleteUnused(id: string): Promise<boolean> {
    const row = await this.db.kysely.deleteFrom("invites").where("id", "=", id)
      .where("used_at", "is", null).returning("id").executeTakeFirst();
    return row !== undefined;
  }

  #select() {
    return this.db.kysely.selectFrom("invites as i")
      .leftJoin("accounts as a", "a.id", "i.used_by")
      .select([
        "i.id",
        "i.role",
        "i.created_by",
        "i.created_at",
        "i.expires_at",
        "i.used_at",
        "a.username as used_by_username",
      ]);
  }
}

function toRecord(row: {
  id: string;
  role: Role;
  created_by: string | null;
  created_at: Date | number;
  expires_at: Date | number;
  used_at: Date | number | null;
  used_by_username: string | null;
}): InviteRecord {
  return {
    id: row.id,
    role: row.role,
    createdBy: row.created_by,
    createdAt: toDate(row.created_at),
    expiresAt: toDate(row.expires_at),
    usedAt: toDateOrNull(row.used_at),
    usedByUsername: row.used_by_username,
  };
}
