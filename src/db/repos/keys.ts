/**
 * The `keys` table: Nostr keys, secret sealed by the vault. A key belongs to a person's account
 * or, with `accountId` null, to the operator; names are unique per owner.
 */
import type { Selectable } from "kysely";
import type { Db } from "../db.ts";
import { type Count, type KeysTable, toDate } from "../schema.ts";

/** A stored user key. `secretSealed` never leaves the server. */
export interface KeyRecord {
  id: string;
  name: string;
  /** User pubkey, lowercase hex. */
  pubkey: string;
  /** Vault-sealed secret key; the additional data is `pubkey`. */
  secretSealed: string;
  createdAt: Date;
  /** The account that holds it; null for the operator's keys. */
  accountId: string | null;
}

/** Fields needed to store a new key (an operator's key when `accountId` is left out). */
export type NewKey = Omit<KeyRecord, "createdAt" | "accountId"> & { accountId?: string | null };

/** Whose keys: an account's (its id), the operator's (null), or everyone's (undefined). */
export type KeyOwner = string | null | undefined;

/** Reads and writes user keys. */
export class KeysRepo {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /** Stores a key; a duplicate name or pubkey raises `UniqueViolationError`. */
  async create(key: NewKey): Promise<KeyRecord> {
    const row = await this.db.kysely.insertInto("keys")
      .values({
        id: key.id,
        name: key.name,
        pubkey: key.pubkey,
        secret_sealed: key.secretSealed,
        created_at: new Date(this.now()),
        account_id: key.accountId ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRecord(row);
  }

  /** Every key of `owner` (everyone's by default), oldest first. */
  async list(owner?: KeyOwner): Promise<KeyRecord[]> {
    const rows = await this.db.kysely.selectFrom("keys").selectAll()
      .$if(owner !== undefined, (q) => q.where("account_id", owner === null ? "is" : "=", owner!))
      .orderBy("created_at").orderBy("name").execute();
    return rows.map(toRecord);
  }

  /** The key of `owner` (the operator's by default) with this name, if any. */
  async getByName(name: string, owner: string | null = null): Promise<KeyRecord | undefined> {
    const row = await this.db.kysely.selectFrom("keys").selectAll()
      .where("name", "=", name).where("account_id", owner === null ? "is" : "=", owner)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** Deletes the key `id` (one that nothing refers to yet); false when there was none. */
  async delete(id: string): Promise<boolean> {
    const result = await this.db.kysely.deleteFrom("keys").where("id", "=", id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** How many keys `accountId` holds. */
  async countOf(accountId: string): Promise<number> {
    const row = await this.db.kysely.selectFrom("keys")
      .select((eb) => eb.fn.countAll<Count>().as("n"))
      .where("account_id", "=", accountId).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The key with this pubkey (hex), if any. */
  async getByPubkey(pubkey: string): Promise<KeyRecord | undefined> {
    const row = await this.db.kysely.selectFrom("keys").selectAll()
      .where("pubkey", "=", pubkey).executeTakeFirst();
    return row && toRecord(row);
  }
}

function toRecord(row: Selectable<KeysTable>): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    pubkey: row.pubkey,
    secretSealed: row.secret_sealed,
    createdAt: toDate(row.created_at),
    accountId: row.account_id,
  };
}
