/** The `authorizations` table: one bunker keypair and connection secret per grant of a key. */
import type { ExpressionBuilder } from "kysely";
import type { ActiveAuthorization, AuthorizedClient } from "../../domain/authorization.ts";
import type { Db, Executor } from "../db.ts";
import {
  type Count,
  type Database,
  jsonObject,
  jsonStrings,
  toDate,
  toDateOrNull,
} from "../schema.ts";

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
  /** The account holding the key; null for the operator's keys. */
  accountId: string | null;
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

/**
 * Authorizations joined with their key, (maybe) policy and (maybe) the key's account, nothing
 * selected yet.
 */
function joined(db: Executor) {
  return db.selectFrom("authorizations as a")
    .innerJoin("keys as k", "k.id", "a.key_id")
    .leftJoin("policies as p", "p.id", "a.policy_id")
    .leftJoin("accounts as acc", "acc.id", "k.account_id");
}

type Joined = ReturnType<typeof joined>;

/** Live authorizations read per query when loading them all. */
const LOAD_PAGE = 5_000;

/** Reads and writes authorizations. */
export class AuthorizationsRepo {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /** Stores a new authorization; a duplicate bunker pubkey raises `UniqueViolationError`. */
  async create(input: NewAuthorization): Promise<void> {
    await this.db.kysely.insertInto("authorizations").values({
      id: input.id,
      key_id: input.keyId,
      policy_id: input.policyId,
      bunker_pubkey: input.bunkerPubkey,
      bunker_secret_sealed: input.bunkerSecretSealed,
      secret_hash: input.secretHash,
      relays: this.db.json(input.relays),
      max_uses: input.maxUses,
      expires_at: input.expiresAt,
      label: input.label,
      created_at: new Date(this.now()),
    }).execute();
  }

  /** The authorization with this id, revoked or not. */
  async get(id: string): Promise<AuthorizationRecord | undefined> {
    const row = await this.#records().where("a.id", "=", id).executeTakeFirst();
    return row && toRecord(row);
  }

  /** The authorization with this bunker pubkey, revoked or not. */
  async getByBunkerPubkey(bunkerPubkey: string): Promise<AuthorizationRecord | undefined> {
    const row = await this.#records().where("a.bunker_pubkey", "=", bunkerPubkey)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /**
   * Every authorization, newest first; revoked ones only when asked; only those of the keys of
   * `accountId` when given.
   */
  async list(
    opts: { includeRevoked?: boolean; accountId?: string } = {},
  ): Promise<AuthorizationRecord[]> {
    const rows = await this.#records()
      .$if(!opts.includeRevoked, (q) => q.where("a.revoked_at", "is", null))
      .$if(opts.accountId !== undefined, (q) => q.where("k.account_id", "=", opts.accountId!))
      .orderBy("a.created_at", "desc").orderBy("a.id").execute();
    return rows.map(toRecord);
  }

  /** Marks an authorization revoked; returns its bunker pubkey, or undefined if not found. */
  async revoke(id: string): Promise<{ bunkerPubkey: string; alreadyRevoked: boolean } | undefined> {
    const revoked = await this.db.kysely.updateTable("authorizations")
      .set({ revoked_at: new Date(this.now()) })
      .where("id", "=", id).where("revoked_at", "is", null)
      .returning("bunker_pubkey").executeTakeFirst();
    if (revoked) return { bunkerPubkey: revoked.bunker_pubkey, alreadyRevoked: false };
    const existing = await this.db.kysely.selectFrom("authorizations").select("bunker_pubkey")
      .where("id", "=", id).executeTakeFirst();
    return existing && { bunkerPubkey: existing.bunker_pubkey, alreadyRevoked: true };
  }

  /** Id and bunker pubkey of every authorization of `accountId`'s keys that is not revoked. */
  async unrevokedOfAccount(accountId: string): Promise<{ id: string; bunkerPubkey: string }[]> {
    const rows = await joined(this.db.kysely).select(["a.id", "a.bunker_pubkey"])
      .where("k.account_id", "=", accountId).where("a.revoked_at", "is", null).execute();
    return rows.map((row) => ({ id: row.id, bunkerPubkey: row.bunker_pubkey }));
  }

  /**
   * Every live (not revoked, not expired, its account not disabled) authorization, ready for the
   * listener.
   */
  loadActive(): Promise<ActiveAuthorization[]> {
    return this.#loadActive((q) => q);
  }

  /** One live authorization by id, ready for the listener; undefined if revoked or expired. */
  async loadActiveById(id: string): Promise<ActiveAuthorization | undefined> {
    const [active] = await this.#loadActive((q) => q.where("a.id", "=", id));
    return active;
  }

  /**
   * The live authorization with this bunker pubkey, ready for the listener; undefined if revoked,
   * expired or unknown (another instance's notice names the bunker, see `src/cluster/bridge.ts`).
   */
  async loadActiveByBunker(bunkerPubkey: string): Promise<ActiveAuthorization | undefined> {
    const [active] = await this.#loadActive((q) => q.where("a.bunker_pubkey", "=", bunkerPubkey));
    return active;
  }

  /** Live authorizations that use the named policy (to push a policy change to the listener). */
  loadActiveByPolicy(policyName: string): Promise<ActiveAuthorization[]> {
    return this.#loadActive((q) => q.where("p.name", "=", policyName));
  }

  #records() {
    return joined(this.db.kysely).select((eb) => [
      "a.id",
      "a.key_id",
      "k.name as key_name",
      "k.pubkey as user_pubkey",
      "a.bunker_pubkey",
      "p.name as policy_name",
      "a.relays",
      "a.max_uses",
      "a.expires_at",
      "a.revoked_at",
      "a.label",
      "a.created_at",
      "k.account_id",
      clientCount(eb).as("client_count"),
    ]);
  }

  /**
   * Live authorizations narrowed by `where`, with their clients, read in pages of
   * {@link LOAD_PAGE} ordered by id (so a start with 100,000 authorizations never holds them all
   * as one result in the driver at once).
   */
  async #loadActive(where: (q: Joined) => Joined): Promise<ActiveAuthorization[]> {
    const out: ActiveAuthorization[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.#loadPage(where, after);
      out.push(...page);
      if (page.length < LOAD_PAGE) return out;
      after = page[page.length - 1]!.id;
    }
  }

  async #loadPage(
    where: (q: Joined) => Joined,
    after: string | undefined,
  ): Promise<ActiveAuthorization[]> {
    const now = new Date(this.now());
    const live = (q: Joined) => {
      // A disabled account's keys answer nobody until it is enabled again.
      const narrowed = where(
        q.where("a.revoked_at", "is", null)
          .where((eb) => eb.or([eb("a.expires_at", "is", null), eb("a.expires_at", ">", now)]))
          .where("acc.disabled_at", "is", null),
      );
      return after === undefined ? narrowed : narrowed.where("a.id", ">", after);
    };
    const rows = await live(joined(this.db.kysely)).select([
      "a.id",
      "a.key_id",
      "k.name as key_name",
      "k.pubkey as user_pubkey",
      "k.secret_sealed as user_secret_sealed",
      "a.bunker_pubkey",
      "a.bunker_secret_sealed",
      "a.secret_hash",
      "a.relays",
      "p.name as policy_name",
      "p.rules as policy",
      "a.max_uses",
      "a.expires_at",
    ]).orderBy("a.id").limit(LOAD_PAGE).execute();
    if (rows.length === 0) return [];
    const last = rows[rows.length - 1]!.id;
    const clientRows = await live(joined(this.db.kysely))
      .where("a.id", "<=", last)
      .innerJoin("authorization_clients as c", "c.authorization_id", "a.id")
      .select(["c.authorization_id", "c.client_pubkey", "c.logged_out_at"])
      .orderBy("c.connected_at").execute();
    const clients = new Map<string, AuthorizedClient[]>();
    for (const row of clientRows) {
      const list = clients.get(row.authorization_id) ?? [];
      list.push({ clientPubkey: row.client_pubkey, loggedOut: row.logged_out_at !== null });
      clients.set(row.authorization_id, list);
    }
    return rows.map((row) => {
      const expiresAt = toDateOrNull(row.expires_at);
      return {
        id: row.id,
        keyId: row.key_id,
        keyName: row.key_name,
        userPubkey: row.user_pubkey,
        userSecretSealed: row.user_secret_sealed,
        bunkerPubkey: row.bunker_pubkey,
        bunkerSecretSealed: row.bunker_secret_sealed,
        secretHash: row.secret_hash,
        relays: jsonStrings(row.relays),
        policyName: row.policy_name,
        policy: row.policy === null ? null : jsonObject(row.policy),
        maxUses: row.max_uses,
        expiresAt: expiresAt === null ? null : Math.floor(expiresAt.getTime() / 1000),
        clients: clients.get(row.id) ?? [],
      };
    });
  }
}

function clientCount(eb: ExpressionBuilder<Database & { a: Database["authorizations"] }, "a">) {
  return eb.selectFrom("authorization_clients as c")
    .select((inner) => inner.fn.countAll<Count>().as("n"))
    .whereRef("c.authorization_id", "=", "a.id");
}

function toRecord(row: {
  id: string;
  key_id: string;
  key_name: string;
  user_pubkey: string;
  bunker_pubkey: string;
  policy_name: string | null;
  relays: unknown;
  max_uses: number | null;
  expires_at: Date | number | null;
  revoked_at: Date | number | null;
  label: string | null;
  created_at: Date | number;
  account_id: string | null;
  client_count: Count | null;
}): AuthorizationRecord {
  return {
    id: row.id,
    keyId: row.key_id,
    keyName: row.key_name,
    userPubkey: row.user_pubkey,
    bunkerPubkey: row.bunker_pubkey,
    policyName: row.policy_name,
    relays: jsonStrings(row.relays),
    maxUses: row.max_uses,
    expiresAt: toDateOrNull(row.expires_at),
    revokedAt: toDateOrNull(row.revoked_at),
    label: row.label,
    createdAt: toDate(row.created_at),
    clientCount: Number(row.client_count ?? 0),
    accountId: row.account_id,
  };
}
