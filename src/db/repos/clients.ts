/** The `authorization_clients` table: client pubkeys that redeemed a connection secret. */
import type { Selectable } from "kysely";
import type { Db, Executor } from "../db.ts";
import {
  type AuthorizationClientsTable,
  type Count,
  jsonObject,
  toDate,
  toDateOrNull,
} from "../schema.ts";

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

/** Most (authorization, client) pairs one `touch` statement updates. */
const TOUCH_CHUNK = 200;

/** Reads and writes authorization clients. */
export class ClientsRepo {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /**
   * Binds `clientPubkey` to a live authorization after the caller checked the secret. The read
   * that decides (live? bound already? slots left?) and the insert run in one transaction that
   * holds the authorization (a row lock on PostgreSQL, the write lock on SQLite), so two
   * clients racing for the last slot cannot both win. A client that is already bound is `known`;
   * one that logged out stays out (it needs a new secret).
   */
  redeem(input: RedeemInput): Promise<RedeemResult> {
    return this.db.transaction((tx) => this.#redeemIn(tx, input));
  }

  /** Marks a client logged out; true when it was bound and not already out. */
  async logout(authorizationId: string, clientPubkey: string): Promise<boolean> {
    const row = await this.db.kysely.updateTable("authorization_clients")
      .set({ logged_out_at: new Date(this.now()) })
      .where("authorization_id", "=", authorizationId)
      .where("client_pubkey", "=", clientPubkey)
      .where("logged_out_at", "is", null)
      .returning("client_pubkey").executeTakeFirst();
    return row !== undefined;
  }

  /** Records that clients were active now, in a few statements for a batch of pairs. */
  async touch(seen: readonly { authorizationId: string; clientPubkey: string }[]): Promise<void> {
    const at = new Date(this.now());
    for (let start = 0; start < seen.length; start += TOUCH_CHUNK) {
      const chunk = seen.slice(start, start + TOUCH_CHUNK);
      await this.db.kysely.updateTable("authorization_clients")
        .set({ last_seen_at: at })
        .where((eb) =>
          eb.or(chunk.map((pair) =>
            eb.and([
              eb("authorization_id", "=", pair.authorizationId),
              eb("client_pubkey", "=", pair.clientPubkey),
            ])
          ))
        ).execute();
    }
  }

  /** Clients of one authorization, first connected first. */
  async list(authorizationId: string): Promise<ClientRecord[]> {
    const rows = await this.db.kysely.selectFrom("authorization_clients").selectAll()
      .where("authorization_id", "=", authorizationId)
      .orderBy("connected_at").orderBy("client_pubkey").execute();
    return rows.map(toRecord);
  }

  async #redeemIn(tx: Executor, input: RedeemInput): Promise<RedeemResult> {
    const now = new Date(this.now());
    const auth = await tx.selectFrom("authorizations").select("max_uses")
      .where("id", "=", input.authorizationId)
      .where("revoked_at", "is", null)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", now)]))
      .$if(this.db.kind === "postgres", (q) => q.forUpdate())
      .executeTakeFirst();
    if (!auth) return { status: "missing" };
    const existing = await tx.selectFrom("authorization_clients").select("logged_out_at")
      .where("authorization_id", "=", input.authorizationId)
      .where("client_pubkey", "=", input.clientPubkey).executeTakeFirst();
    if (existing) {
      return existing.logged_out_at !== null ? { status: "logged-out" } : { status: "known" };
    }
    if (auth.max_uses !== null) {
      const { count } = await tx.selectFrom("authorization_clients")
        .select((eb) => eb.fn.countAll<Count>().as("count"))
        .where("authorization_id", "=", input.authorizationId).executeTakeFirstOrThrow();
      if (Number(count) >= auth.max_uses) return { status: "exhausted", maxUses: auth.max_uses };
    }
    await tx.insertInto("authorization_clients").values({
      authorization_id: input.authorizationId,
      client_pubkey: input.clientPubkey,
      connected_at: now,
      last_seen_at: now,
      requested_perms: input.requestedPerms ?? null,
      client_metadata: input.clientMetadata ? this.db.json(input.clientMetadata) : null,
    }).execute();
    return { status: "redeemed" };
  }
}

function toRecord(row: Selectable<AuthorizationClientsTable>): ClientRecord {
  return {
    authorizationId: row.authorization_id,
    clientPubkey: row.client_pubkey,
    connectedAt: toDate(row.connected_at),
    lastSeenAt: toDate(row.last_seen_at),
    loggedOutAt: toDateOrNull(row.logged_out_at),
    requestedPerms: row.requested_perms,
    clientMetadata: row.client_metadata === null ? null : jsonObject(row.client_metadata),
  };
}
