/**
 * The `accounts` table: people who log in with a password. Registration — the invite redeemed,
 * the account and its first key stored — is one transaction ({@link AccountsRepo.register}), so a
 * taken username never uses up an invite and an account never exists without its key.
 */
import type { Selectable } from "kysely";
import type { Db, Executor } from "../db.ts";
import { type AccountsTable, type Count, toDate, toDateOrNull } from "../schema.ts";
import type { NewKey } from "./keys.ts";

/** An account's role: an admin sees and manages everything, a user their own keys. */
export type Role = "user" | "admin";

/** A stored account. `passwordHash` never leaves the server. */
export interface AccountRecord {
  id: string;
  /** Lowercase login name. */
  username: string;
  email: string | null;
  /** PHC string (see `src/accounts/password.ts`). */
  passwordHash: string;
  role: Role;
  disabledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** An account as the admin list shows it. */
export interface ListedAccount extends AccountRecord {
  keyCount: number;
}

/** Fields needed to create an account. */
export interface NewAccount {
  id: string;
  username: string;
  email: string | null;
  passwordHash: string;
  role: Role;
}

/** Outcome of {@link AccountsRepo.register}. */
export type Registration =
  | { status: "registered"; account: AccountRecord }
  /** The invite does not exist, was used, or expired. */
  | { status: "bad-invite" };

/** Reads and writes accounts. */
export class AccountsRepo {
  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {}

  /**
   * Creates `account` with its first `key` (when given), redeeming the invite with sha256
   * `inviteHash` (when given; the invite's role then wins over `account.role`), in one
   * transaction. A taken username, email or key raises `UniqueViolationError` and changes nothing.
   */
  register(
    account: NewAccount,
    opts: { key?: Omit<NewKey, "accountId">; inviteHash?: string } = {},
  ): Promise<Registration> {
    return this.db.transaction(async (tx) => {
      const at = new Date(this.now());
      let role = account.role;
      if (opts.inviteHash !== undefined) {
        const invite = await tx.updateTable("invites")
          .set({ used_at: at })
          .where("code_hash", "=", opts.inviteHash)
          .where("used_at", "is", null)
          .where("expires_at", ">", at)
          .returning(["id", "role"]).executeTakeFirst();
        if (!invite) return { status: "bad-invite" };
        role = invite.role;
        await this.#insert(tx, { ...account, role }, at);
        await tx.updateTable("invites").set({ used_by: account.id }).where("id", "=", invite.id)
          .execute();
      } else {
        await this.#insert(tx, account, at);
      }
      if (opts.key) {
        await tx.insertInto("keys").values({
          id: opts.key.id,
          name: opts.key.name,
          pubkey: opts.key.pubkey,
          secret_sealed: opts.key.secretSealed,
          created_at: at,
          account_id: account.id,
        }).execute();
      }
      const row = await tx.selectFrom("accounts").selectAll().where("id", "=", account.id)
        .executeTakeFirstOrThrow();
      return { status: "registered", account: toRecord(row) };
    });
  }

  async #insert(tx: Executor, account: NewAccount, at: Date): Promise<void> {
    await tx.insertInto("accounts").values({
      id: account.id,
      username: account.username,
      email: account.email,
      password_hash: account.passwordHash,
      role: account.role,
      created_at: at,
      updated_at: at,
    }).execute();
  }

  /** The account with this id, if any. */
  async get(id: string): Promise<AccountRecord | undefined> {
    const row = await this.db.kysely.selectFrom("accounts").selectAll().where("id", "=", id)
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** The account whose username or email is `login` (compared lowercase), if any. */
  async getByLogin(login: string): Promise<AccountRecord | undefined> {
    const lower = login.toLowerCase();
    const row = await this.db.kysely.selectFrom("accounts").selectAll()
      .where((eb) => eb.or([eb("username", "=", lower), eb("email", "=", lower)]))
      .executeTakeFirst();
    return row && toRecord(row);
  }

  /** Every account with its number of keys, oldest first. */
  async list(): Promise<ListedAccount[]> {
    const rows = await this.db.kysely.selectFrom("accounts as a").selectAll("a")
      .select((eb) =>
        eb.selectFrom("keys as k").select((inner) => inner.fn.countAll<Count>().as("n"))
          .whereRef("k.account_id", "=", "a.id").as("key_count")
      )
      .orderBy("a.created_at").orderBy("a.username").execute();
    return rows.map((row) => ({ ...toRecord(row), keyCount: Number(row.key_count ?? 0) }));
  }

  /** How many accounts have `role` (every account when not given). */
  async count(role?: Role): Promise<number> {
    const row = await this.db.kysely.selectFrom("accounts")
      .select((eb) => eb.fn.countAll<Count>().as("n"))
      .$if(role !== undefined, (q) => q.where("role", "=", role!))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Stores a new password hash; false when there is no such account. */
  async setPasswordHash(id: string, passwordHash: string): Promise<boolean> {
    const row = await this.db.kysely.updateTable("accounts")
      .set({ password_hash: passwordHash, updated_at: new Date(this.now()) })
      .where("id", "=", id).returning("id").executeTakeFirst();
    return row !== undefined;
  }

  /** Disables or enables an account; the account after the change, if it exists. */
  async setDisabled(id: string, disabled: boolean): Promise<AccountRecord | undefined> {
    const at = new Date(this.now());
    const row = await this.db.kysely.updateTable("accounts")
      .set({ disabled_at: disabled ? at : null, updated_at: at })
      .where("id", "=", id).returningAll().executeTakeFirst();
    return row && toRecord(row);
  }
}

function toRecord(row: Selectable<AccountsTable>): AccountRecord {
  return {
    id: row.id,
    username: row.username,
    email: row.email,
    passwordHash: row.password_hash,
    role: row.role,
    disabledAt: toDateOrNull(row.disabled_at),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}
