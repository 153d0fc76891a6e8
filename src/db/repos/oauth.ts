/**
 * The OAuth tables: registered clients, authorization codes, grants and their tokens. Codes and
 * tokens are looked up by their sha256 only; the values themselves are never stored. A code is
 * claimed by one conditional update, so two exchanges of the same code cannot both succeed.
 */
import type { Db } from "../db.ts";
import { toDate, toDateOrNull } from "../schema.ts";

/** A client an operator registered. */
export interface OAuthClientRecord {
  clientId: string;
  name: string;
  redirectUris: string[];
  policyName: string | null;
  createdAt: Date;
}

/** What an authorization code was issued for. */
export interface OAuthCodeRecord {
  codeHash: string;
  clientId: string;
  redirectUri: string;
  accountId: string;
  keyId: string;
  policyName: string;
  codeChallenge: string;
  expiresAt: Date;
  usedAt: Date | null;
  /** When the code was used a second time (then what it made must end). */
  replayedAt: Date | null;
  grantId: string | null;
}

/** A grant: an approved code's authorization, with the app it was for. */
export interface OAuthGrantRecord {
  id: string;
  authorizationId: string;
  accountId: string;
  clientId: string;
  redirectOrigin: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** A token with its grant and the grant's authorization state. */
export interface OAuthTokenRecord {
  tokenHash: string;
  grantId: string;
  kind: "access" | "refresh";
  expiresAt: Date;
  usedAt: Date | null;
  grant: OAuthGrantRecord;
  /** The grant's authorization: its bunker pubkey, and when it was revoked (if it was). */
  bunkerPubkey: string;
  authorizationRevokedAt: Date | null;
  authorizationExpiresAt: Date | null;
  /** When the grant's account was disabled, if it is. */
  accountDisabledAt: Date | null;
}

/** Reads and writes the OAuth tables. */
export class OAuthRepo {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /** Registers (or replaces) a client. */
  async putClient(client: Omit<OAuthClientRecord, "createdAt">): Promise<void> {
    const values = {
      client_id: client.clientId,
      name: client.name,
      redirect_uris: JSON.stringify(client.redirectUris),
      policy_name: client.policyName,
      created_at: new Date(this.now()),
    };
    await this.db.kysely.insertInto("oauth_clients").values(values)
      .onConflict((oc) =>
        oc.column("client_id").doUpdateSet({
          name: values.name,
          redirect_uris: values.redirect_uris,
          policy_name: values.policy_name,
        })
      ).execute();
  }

  /** The registered client `clientId`, if any. */
  async getClient(clientId: string): Promise<OAuthClientRecord | undefined> {
    const row = await this.db.kysely.selectFrom("oauth_clients").selectAll()
      .where("client_id", "=", clientId).executeTakeFirst();
    return row && clientRecord(row);
  }

  /** Every registered client, by id. */
  async listClients(): Promise<OAuthClientRecord[]> {
    const rows = await this.db.kysely.selectFrom("oauth_clients").selectAll()
      .orderBy("client_id").execute();
    return rows.map(clientRecord);
  }

  /** Removes a registered client; false when there was none. */
  async deleteClient(clientId: string): Promise<boolean> {
    const result = await this.db.kysely.deleteFrom("oauth_clients")
      .where("client_id", "=", clientId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Stores a new authorization code. */
  async createCode(
    code: Omit<OAuthCodeRecord, "usedAt" | "replayedAt" | "grantId">,
  ): Promise<void> {
    await this.db.kysely.insertInto("oauth_codes").values({
      code_hash: code.codeHash,
      client_id: code.clientId,
      redirect_uri: code.redirectUri,
      account_id: code.accountId,
      key_id: code.keyId,
      policy_name: code.policyName,
      code_challenge: code.codeChallenge,
      expires_at: code.expiresAt,
    }).execute();
  }

  /** The code with this hash, used or not. */
  async getCode(codeHash: string): Promise<OAuthCodeRecord | undefined> {
    const row = await this.db.kysely.selectFrom("oauth_codes").selectAll()
      .where("code_hash", "=", codeHash).executeTakeFirst();
    return row && {
      codeHash: row.code_hash,
      clientId: row.client_id,
      redirectUri: row.redirect_uri,
      accountId: row.account_id,
      keyId: row.key_id,
      policyName: row.policy_name,
      codeChallenge: row.code_challenge,
      expiresAt: toDate(row.expires_at),
      usedAt: toDateOrNull(row.used_at),
      replayedAt: toDateOrNull(row.replayed_at),
      grantId: row.grant_id,
    };
  }

  /**
   * Marks the code used, once, with the id of the grant it will become: true for the one caller
   * that claimed it.
   */
  async claimCode(codeHash: string, grantId: string): Promise<boolean> {
    const result = await this.db.kysely.updateTable("oauth_codes")
      .set({ used_at: new Date(this.now()), grant_id: grantId })
      .where("code_hash", "=", codeHash).where("used_at", "is", null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Records a second use of the code; its grant id (set when it was claimed), if any. */
  async markReplayed(codeHash: string): Promise<string | null> {
    await this.db.kysely.updateTable("oauth_codes").set({ replayed_at: new Date(this.now()) })
      .where("code_hash", "=", codeHash).execute();
    return (await this.getCode(codeHash))?.grantId ?? null;
  }

  /** Stores a grant. */
  async createGrant(grant: Omit<OAuthGrantRecord, "createdAt" | "revokedAt">): Promise<void> {
    await this.db.kysely.insertInto("oauth_grants").values({
      id: grant.id,
      authorization_id: grant.authorizationId,
      account_id: grant.accountId,
      client_id: grant.clientId,
      redirect_origin: grant.redirectOrigin,
      created_at: new Date(this.now()),
    }).execute();
  }

  /** The grant `id`, if any. */
  async getGrant(id: string): Promise<OAuthGrantRecord | undefined> {
    const row = await this.db.kysely.selectFrom("oauth_grants").selectAll()
      .where("id", "=", id).executeTakeFirst();
    return row && grantRecord(row);
  }

  /** The grant that created authorization `authorizationId`, if one did. */
  async grantOfAuthorization(authorizationId: string): Promise<OAuthGrantRecord | undefined> {
    const row = await this.db.kysely.selectFrom("oauth_grants").selectAll()
      .where("authorization_id", "=", authorizationId).executeTakeFirst();
    return row && grantRecord(row);
  }

  /** Marks the grant revoked and deletes all its tokens. */
  async revokeGrant(id: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.updateTable("oauth_grants").set({ revoked_at: new Date(this.now()) })
        .where("id", "=", id).where("revoked_at", "is", null).execute();
      await tx.deleteFrom("oauth_tokens").where("grant_id", "=", id).execute();
    });
  }

  /** Stores a token. */
  async createToken(
    token: { tokenHash: string; grantId: string; kind: "access" | "refresh"; expiresAt: Date },
  ): Promise<void> {
    await this.db.kysely.insertInto("oauth_tokens").values({
      token_hash: token.tokenHash,
      grant_id: token.grantId,
      kind: token.kind,
      created_at: new Date(this.now()),
      expires_at: token.expiresAt,
    }).execute();
  }

  /** The token with this hash, with its grant and the grant's authorization state. */
  async getToken(tokenHash: string): Promise<OAuthTokenRecord | undefined> {
    const row = await this.db.kysely.selectFrom("oauth_tokens as t")
      .innerJoin("oauth_grants as g", "g.id", "t.grant_id")
      .innerJoin("authorizations as a", "a.id", "g.authorization_id")
      .select([
        "t.token_hash",
        "t.grant_id",
        "t.kind",
        "t.expires_at",
        "t.used_at",
        "g.id",
        "g.authorization_id",
        "g.account_id",
        "g.client_id",
        "g.redirect_origin",
        "g.created_at",
        "g.revoked_at",
        "a.bunker_pubkey",
        "a.revoked_at as authorization_revoked_at",
        "a.expires_at as authorization_expires_at",
      ])
      .select((eb) =>
        eb.selectFrom("accounts as p").select("p.disabled_at")
          .whereRef("p.id", "=", "g.account_id").as("account_disabled_at")
      )
      .where("t.token_hash", "=", tokenHash).executeTakeFirst();
    return row && {
      tokenHash: row.token_hash,
      grantId: row.grant_id,
      kind: row.kind,
      expiresAt: toDate(row.expires_at),
      usedAt: toDateOrNull(row.used_at),
      grant: grantRecord(row),
      bunkerPubkey: row.bunker_pubkey,
      authorizationRevokedAt: toDateOrNull(row.authorization_revoked_at),
      authorizationExpiresAt: toDateOrNull(row.authorization_expires_at),
      accountDisabledAt: toDateOrNull(row.account_disabled_at ?? null),
    };
  }

  /**
   * Keeps only `keep` among the grant's access tokens (one valid access token per grant), and of
   * its used refresh tokens only `lastUsed` (enough to tell a reuse of the one just rotated).
   */
  async trimTokens(grantId: string, keep: string, lastUsed: string): Promise<void> {
    await this.db.kysely.deleteFrom("oauth_tokens").where("grant_id", "=", grantId)
      .where((eb) =>
        eb.or([
          eb.and([eb("kind", "=", "access"), eb("token_hash", "!=", keep)]),
          eb.and([
            eb("kind", "=", "refresh"),
            eb("used_at", "is not", null),
            eb("token_hash", "!=", lastUsed),
          ]),
        ])
      ).execute();
  }

  /** Marks a refresh token exchanged, once: true for the one caller that claimed it. */
  async claimRefresh(tokenHash: string): Promise<boolean> {
    const result = await this.db.kysely.updateTable("oauth_tokens")
      .set({ used_at: new Date(this.now()) })
      .where("token_hash", "=", tokenHash).where("kind", "=", "refresh")
      .where("used_at", "is", null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Deletes expired codes and tokens, and used refresh tokens past `before` (ms); returns how many. */
  async prune(before: number): Promise<number> {
    const at = new Date(before);
    const codes = await this.db.kysely.deleteFrom("oauth_codes").where("expires_at", "<", at)
      .executeTakeFirst();
    const tokens = await this.db.kysely.deleteFrom("oauth_tokens").where("expires_at", "<", at)
      .executeTakeFirst();
    return Number(codes.numDeletedRows) + Number(tokens.numDeletedRows);
  }
}

function clientRecord(
  row: {
    client_id: string;
    name: string;
    redirect_uris: string;
    policy_name: string | null;
    created_at: Date | number;
  },
): OAuthClientRecord {
  let uris: unknown;
  try {
    uris = JSON.parse(row.redirect_uris);
  } catch (_error: unknown) {
    uris = [];
  }
  return {
    clientId: row.client_id,
    name: row.name,
    redirectUris: Array.isArray(uris) ? uris.filter((uri) => typeof uri === "string") : [],
    policyName: row.policy_name,
    createdAt: toDate(row.created_at),
  };
}

function grantRecord(
  row: {
    id: string;
    authorization_id: string;
    account_id: string;
    client_id: string;
    redirect_origin: string;
    created_at: Date | number;
    revoked_at: Date | number | null;
  },
): OAuthGrantRecord {
  return {
    id: row.id,
    authorizationId: row.authorization_id,
    accountId: row.account_id,
    clientId: row.client_id,
    redirectOrigin: row.redirect_origin,
    createdAt: toDate(row.created_at),
    revokedAt: toDateOrNull(row.revoked_at),
  };
}
