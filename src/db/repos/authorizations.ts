/** The `authorizations` table: one bunker keypair and connection secret per grant of a key. */
import type { ActiveAuthorization, AuthorizedClient } from "../../domain/authorization.ts";
import type { Queryable } from "../db.ts";

/** An authorization as the admin API shows it (no secret material). */
export interface AuthorizationRecord {
  id: string;
  keyId: string;
  keyName: string;
  userPubkey: string;
  bunkerPubkey: string;
  policyName: string | null;
  relays: string[];
  maxUses: number | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  label: string | null;
  createdAt: Date;
  /** Number of distinct clients that redeemed the secret. */
  clientCount: number;
}

/** Fields needed to store a new authorization. */
export interface NewAuthorization {
  id: string;
  keyId: string;
  policyId: string | null;
  bunkerPubkey: string;
  bunkerSecretSealed: string;
  secretHash: string;
  relays: string[];
  maxUses: number | null;
  expiresAt: Date | null;
  label: string | null;
}

const RECORD_SQL = `
  select a.id::text, a.key_id::text, k.name as key_name, k.pubkey as user_pubkey, a.bunker_pubkey,
         p.name as policy_name, a.relays, a.max_uses, a.expires_at, a.revoked_at, a.label,
         a.created_at,
         (select count(*)::int from authorization_clients c where c.authorization_id = a.id)
           as client_count
    from authorizations a
    join keys k on k.id = a.key_id
    left join policies p on p.id = a.policy_id`;

const ACTIVE_SQL = `
  select a.id::text, a.key_id::text, k.name as key_name, k.pubkey as user_pubkey,
         k.secret_sealed as user_secret_sealed, a.bunker_pubkey, a.bunker_secret_sealed,
         a.secret_hash, a.relays, p.name as policy_name, p.rules as policy, a.max_uses,
         extract(epoch from a.expires_at)::float8 as expires_at,
         coalesce((select json_agg(json_build_array(c.client_pubkey, c.logged_out_at is not null))
                     from authorization_clients c where c.authorization_id = a.id), '[]'::json)
           as clients
    from authorizations a
    join keys k on k.id = a.key_id
    left join policies p on p.id = a.policy_id
   where a.revoked_at is null and (a.expires_at is null or a.expires_at > now())`;

/** Reads and writes authorizations. */
export class AuthorizationsRepo {
  constructor(private readonly db: Queryable) {}

  /** Stores a new authorization; a duplicate bunker pubkey raises `UniqueViolationError`. */
  async create(input: NewAuthorization): Promise<void> {
    await this.db.query(
      `insert into authorizations (id, key_id, policy_id, bunker_pubkey, bunker_secret_sealed,
         secret_hash, relays, max_uses, expires_at, label)
       values ($1::uuid, $2::uuid, $3::uuid, $4, $5, $6, $7::text::jsonb, $8::int, $9::timestamptz,
         $10)`,
      [
        input.id,
        input.keyId,
        input.policyId,
        input.bunkerPubkey,
        input.bunkerSecretSealed,
        input.secretHash,
        JSON.stringify(input.relays),
        input.maxUses,
        input.expiresAt?.toISOString() ?? null,
        input.label,
      ],
    );
  }

  /** The authorization with this id, revoked or not. */
  async get(id: string): Promise<AuthorizationRecord | undefined> {
    const [row] = await this.db.query(`${RECORD_SQL} where a.id = $1::uuid`, [id]);
    return row && toRecord(row);
  }

  /** Every authorization, newest first; revoked ones only when asked. */
  async list(opts: { includeRevoked?: boolean } = {}): Promise<AuthorizationRecord[]> {
    const where = opts.includeRevoked ? "" : " where a.revoked_at is null";
    const rows = await this.db.query(`${RECORD_SQL}${where} order by a.created_at desc, a.id`);
    return rows.map(toRecord);
  }

  /** Marks an authorization revoked; returns its bunker pubkey, or undefined if not found. */
  async revoke(id: string): Promise<{ bunkerPubkey: string; alreadyRevoked: boolean } | undefined> {
    const [revoked] = await this.db.query<{ bunker_pubkey: string }>(
      `update authorizations set revoked_at = now() where id = $1::uuid and revoked_at is null
       returning bunker_pubkey`,
      [id],
    );
    if (revoked) return { bunkerPubkey: revoked.bunker_pubkey, alreadyRevoked: false };
    const [existing] = await this.db.query<{ bunker_pubkey: string }>(
      "select bunker_pubkey from authorizations where id = $1::uuid",
      [id],
    );
    return existing && { bunkerPubkey: existing.bunker_pubkey, alreadyRevoked: true };
  }

  /** Every live (not revoked, not expired) authorization, ready for the listener. */
  async loadActive(): Promise<ActiveAuthorization[]> {
    const rows = await this.db.query(ACTIVE_SQL);
    return rows.map(toActive);
  }

  /** One live authorization by id, ready for the listener; undefined if revoked or expired. */
  async loadActiveById(id: string): Promise<ActiveAuthorization | undefined> {
    const [row] = await this.db.query(`${ACTIVE_SQL} and a.id = $1::uuid`, [id]);
    return row && toActive(row);
  }

  /** Live authorizations that use the named policy (to push a policy change to the listener). */
  async loadActiveByPolicy(policyName: string): Promise<ActiveAuthorization[]> {
    const rows = await this.db.query(`${ACTIVE_SQL} and p.name = $1`, [policyName]);
    return rows.map(toActive);
  }
}

// deno-lint-ignore no-explicit-any
type AnyRow = Record<string, any>;

function toRecord(row: AnyRow): AuthorizationRecord {
  return {
    id: row.id,
    keyId: row.key_id,
    keyName: row.key_name,
    userPubkey: row.user_pubkey,
    bunkerPubkey: row.bunker_pubkey,
    policyName: row.policy_name ?? null,
    relays: row.relays,
    maxUses: row.max_uses ?? null,
    expiresAt: row.expires_at ?? null,
    revokedAt: row.revoked_at ?? null,
    label: row.label ?? null,
    createdAt: row.created_at,
    clientCount: Number(row.client_count),
  };
}

function toActive(row: AnyRow): ActiveAuthorization {
  const clients = (row.clients as [string, boolean][]).map(([clientPubkey, loggedOut]) => ({
    clientPubkey,
    loggedOut,
  } satisfies AuthorizedClient));
  return {
    id: row.id,
    keyId: row.key_id,
    keyName: row.key_name,
    userPubkey: row.user_pubkey,
    userSecretSealed: row.user_secret_sealed,
    bunkerPubkey: row.bunker_pubkey,
    bunkerSecretSealed: row.bunker_secret_sealed,
    secretHash: row.secret_hash,
    relays: row.relays,
    policyName: row.policy_name ?? null,
    policy: row.policy ?? null,
    maxUses: row.max_uses ?? null,
    expiresAt: row.expires_at === null ? null : Math.floor(Number(row.expires_at)),
    clients,
  };
}
