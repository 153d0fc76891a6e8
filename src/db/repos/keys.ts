/** The `keys` table: users' Nostr keys, secret sealed by the vault. */
import type { Queryable } from "../db.ts";

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

interface KeyRow extends Record<string, unknown> {
  id: string;
  name: string;
  pubkey: string;
  secret_sealed: string;
  created_at: Date;
}

const COLUMNS = "id::text, name, pubkey, secret_sealed, created_at";

/** Reads and writes user keys. */
export class KeysRepo {
  constructor(private readonly db: Queryable) {}

  /** Stores a key; a duplicate name or pubkey raises `UniqueViolationError`. */
  async create(key: NewKey): Promise<KeyRecord> {
    const [row] = await this.db.query<KeyRow>(
      `insert into keys (id, name, pubkey, secret_sealed) values ($1::uuid, $2, $3, $4)
       returning ${COLUMNS}`,
      [key.id, key.name, key.pubkey, key.secretSealed],
    );
    return toRecord(row!);
  }

  /** Every key, oldest first. */
  async list(): Promise<KeyRecord[]> {
    const rows = await this.db.query<KeyRow>(
      `select ${COLUMNS} from keys order by created_at, name`,
    );
    return rows.map(toRecord);
  }

  /** The key with this name, if any. */
  async getByName(name: string): Promise<KeyRecord | undefined> {
    const [row] = await this.db.query<KeyRow>(`select ${COLUMNS} from keys where name = $1`, [
      name,
    ]);
    return row && toRecord(row);
  }

  /** The key with this pubkey (hex), if any. */
  async getByPubkey(pubkey: string): Promise<KeyRecord | undefined> {
    const [row] = await this.db.query<KeyRow>(`select ${COLUMNS} from keys where pubkey = $1`, [
      pubkey,
    ]);
    return row && toRecord(row);
  }
}

function toRecord(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    pubkey: row.pubkey,
    secretSealed: row.secret_sealed,
    createdAt: row.created_at,
  };
}
