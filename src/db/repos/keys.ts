/** The `keys` table: users' Nostr keys, secret sealed by the vault. */
import type { Selectable } from "kysely";
import type { Db } from "../db.ts";
import { type KeysTable, toDate } from "../schema.ts";

/** A stored user key. `secretSealed` never leaves the server. */
export interface KeyRecord {
  id: string;
  name: string;
  /** User pubkey, lowercase hex. */
  pubkey: string;
  /** Vault-sealed secret key; the additional data is `pubkey`. */
  secretSealed: string;
  createdAt: Date;
}

/** Fields needed to store a new key. */
export type NewKey = Omit<KeyRecord, "createdAt">;

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
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRecord(row);
  }

  /** Every key, oldest first. */
  async list(): Promise<KeyRecord[]> {
    const rows = await this.db.kysely.selectFrom("keys").selectAll()
      .orderBy("created_at").orderBy("name").execute();
    return rows.map(toRecord);
  }

  /** The key with this name, if any. */
  async getByName(name: string): Promise<KeyRecord | undefined> {
    const row = await this.db.kysely.selectFrom("keys").selectAll()
      .where("name", "=", name).executeTakeFirst();
    return row && toRecord(row);
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
  };
}
