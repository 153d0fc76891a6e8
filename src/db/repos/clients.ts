/** The `authorization_clients` table: client pubkeys that redeemed a connection secret. */
import type { Db, Queryable } from "../db.ts";

/** A client of an authorization. */
export interface ClientRecord {
  authorizationId: string;
  clientPubkey: string;
  connectedAt: Date;
  lastSeenAt: Date;
  loggedOutAt: Date | null;
  /** Permissions the client asked for at connect: a display-only hint, never a grant. */
  requestedPerms: string | null;
  /** Client metadata sent at connect (name, url, image): display only. */
  clientMetadata: Record<string, unknown> | null;
}

/** Outcome of {@link ClientsRepo.redeem}. */
export type RedeemResult =
  | { status: "redeemed" }
  | { status: "known" }
  | { status: "logged-out" }
  | { status: "exhausted"; maxUses: number }
  | { status: "missing" };

/** What a client brings to {@link ClientsRepo.redeem}. */
export interface RedeemInput {
  authorizationId: string;
  clientPubkey: string;
  requestedPerms?: string | null;
  clientMetadata?: Record<string, unknown> | null;
}

const COLUMNS = `authorization_id::text, client_pubkey, connected_at, last_seen_at, logged_out_at,
  requested_perms, client_metadata`;

/** Reads and writes authorization clients. */
export class ClientsRepo {
  constructor(private readonly db: Db) {}

  /**
   * Binds `clientPubkey` to a live authorization after the caller checked the secret. The
   * authorization row is locked, so two clients racing for the last slot cannot both win. A client
   * that is already bound is `known`; one that logged out stays out (it needs a new secret).
   */
  redeem(input: RedeemInput): Promise<RedeemResult> {
    return this.db.transaction((tx) => redeemIn(tx, input));
  }

  /** Marks a client logged out; true when it was bound and not already out. */
  async logout(authorizationId: string, clientPubkey: string): Promise<boolean> {
    const rows = await this.db.query(
      `update authorization_clients set logged_out_at = now()
        where authorization_id = $1::uuid and client_pubkey = $2 and logged_out_at is null
        returning client_pubkey`,
      [authorizationId, clientPubkey],
    );
    return rows.length > 0;
  }

  /** Records that clients were active, in one statement for a batch of (authorization, client). */
  async touch(seen: readonly { authorizationId: string; clientPubkey: string }[]): Promise<void> {
    if (seen.length === 0) return;
    await this.db.query(
      `update authorization_clients c set last_seen_at = now()
         from (select * from json_to_recordset($1::text::json)
                 as s(authorization_id uuid, client_pubkey text)) s
        where c.authorization_id = s.authorization_id and c.client_pubkey = s.client_pubkey`,
      [
        JSON.stringify(
          seen.map((s) => ({ authorization_id: s.authorizationId, client_pubkey: s.clientPubkey })),
        ),
      ],
    );
  }

  /** Clients of one authorization, first connected first. */
  async list(authorizationId: string): Promise<ClientRecord[]> {
    const rows = await this.db.query<Record<string, never>>(
      `select ${COLUMNS} from authorization_clients where authorization_id = $1::uuid
        order by connected_at, client_pubkey`,
      [authorizationId],
    );
    return rows.map((row: Record<string, unknown>) => ({
      authorizationId: row.authorization_id as string,
      clientPubkey: row.client_pubkey as string,
      connectedAt: row.connected_at as Date,
      lastSeenAt: row.last_seen_at as Date,
      loggedOutAt: (row.logged_out_at as Date | null) ?? null,
      requestedPerms: (row.requested_perms as string | null) ?? null,
      clientMetadata: (row.client_metadata as Record<string, unknown> | null) ?? null,
    }));
  }
}

async function redeemIn(tx: Queryable, input: RedeemInput): Promise<RedeemResult> {
  const [auth] = await tx.query<{ max_uses: number | null }>(
    `select max_uses from authorizations
      where id = $1::uuid and revoked_at is null and (expires_at is null or expires_at > now())
      for update`,
    [input.authorizationId],
  );
  if (!auth) return { status: "missing" };
  const [existing] = await tx.query<{ logged_out: boolean }>(
    `select logged_out_at is not null as logged_out from authorization_clients
      where authorization_id = $1::uuid and client_pubkey = $2`,
    [input.authorizationId, input.clientPubkey],
  );
  if (existing) return existing.logged_out ? { status: "logged-out" } : { status: "known" };
  if (auth.max_uses !== null) {
    const [{ count } = { count: 0 }] = await tx.query<{ count: number }>(
      "select count(*)::int as count from authorization_clients where authorization_id = $1::uuid",
      [input.authorizationId],
    );
    if (count >= auth.max_uses) return { status: "exhausted", maxUses: auth.max_uses };
  }
  await tx.query(
    `insert into authorization_clients
       (authorization_id, client_pubkey, requested_perms, client_metadata)
     values ($1::uuid, $2, $3, $4::text::jsonb)`,
    [
      input.authorizationId,
      input.clientPubkey,
      input.requestedPerms ?? null,
      input.clientMetadata ? JSON.stringify(input.clientMetadata) : null,
    ],
  );
  return { status: "redeemed" };
}
