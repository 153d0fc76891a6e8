/**
 * The master key check: an HMAC-SHA256 of a fixed text under the master key, stored per key id
 * in `vault_keys`. A server started with another master key than the one its database's secrets
 * were sealed with finds out at start and refuses to run, instead of failing request by request
 * (or sealing new keys under a second master key with the same key id).
 *
 * The check reads the database as it is, migrated or not (a server checks its key before it
 * migrates): a table a schema version does not have yet is simply empty, and a database without
 * `vault_keys` gets its check value once migrated ({@link KeyCheck} "unrecorded").
 */
import type { Db } from "../db/db.ts";
import { hasTable } from "../db/migrate.ts";
import { encodeHex } from "../util/hex.ts";
import type { Vault } from "./vault.ts";

/** The check value of `masterKey` for `keyId`, as 64 hex characters. */
export async function keyCheckValue(masterKey: Uint8Array, keyId: number): Promise<string> {
  const hmac = await crypto.subtle.importKey(
    "raw",
    new Uint8Array(masterKey),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const text = new TextEncoder().encode(`keycast master key check, key id ${keyId}`);
  return encodeHex(new Uint8Array(await crypto.subtle.sign("HMAC", hmac, text)));
}

/** What {@link checkMasterKey} found. */
export type KeyCheck =
  /** The stored check value matches. */
  | { status: "match" }
  /** Nothing was stored and nothing is sealed yet: the check value was stored now. */
  | { status: "recorded" }
  /** Nothing was stored, but a sealed row opened with this key: the check value was stored now. */
  | { status: "verified" }
  /**
   * Nothing was stored, and the schema has no `vault_keys` yet (an unmigrated database); no sealed
   * row contradicts this key. Check again once migrated, to store the check value.
   */
  | { status: "unrecorded" }
  /** The stored check value, or a sealed row, says this is not the database's master key. */
  | { status: "mismatch" };

/**
 * Whether the database holds a check value for `keyId`, or any sealed secret; tables its schema
 * version lacks count as empty.
 */
export async function sealedState(
  db: Db,
  keyId: number,
): Promise<{ checkValue: string | undefined; hasSealedRows: boolean }> {
  const check = await hasTable(db, "vault_keys")
    ? await db.kysely.selectFrom("vault_keys").select("check_value")
      .where("key_id", "=", keyId).executeTakeFirst()
    : undefined;
  const key = await hasTable(db, "keys")
    ? await db.kysely.selectFrom("keys").select("id").limit(1).executeTakeFirst()
    : undefined;
  const sealed = key ??
    (await hasTable(db, "authorizations")
      ? await db.kysely.selectFrom("authorizations").select("id").limit(1).executeTakeFirst()
      : undefined);
  return { checkValue: check?.check_value, hasSealedRows: sealed !== undefined };
}

/**
 * Checks `masterKey` (opened as `vault`) against the database: the stored check value when
 * there is one; otherwise one sealed row must open with it; then the check value is stored
 * (when the schema has a place for it).
 */
export async function checkMasterKey(
  db: Db,
  vault: Vault,
  masterKey: Uint8Array,
): Promise<KeyCheck> {
  const expected = await keyCheckValue(masterKey, vault.keyId);
  const { checkValue, hasSealedRows } = await sealedState(db, vault.keyId);
  if (checkValue !== undefined) {
    return constantTimeEqual(checkValue, expected) ? { status: "match" } : { status: "mismatch" };
  }
  if (hasSealedRows && !await opensOneSealedRow(db, vault)) return { status: "mismatch" };
  if (!await hasTable(db, "vault_keys")) return { status: "unrecorded" };
  await db.kysely.insertInto("vault_keys")
    .values({ key_id: vault.keyId, check_value: expected, created_at: new Date() })
    .onConflict((conflict) => conflict.column("key_id").doNothing())
    .execute();
  // Two instances starting together: whoever stored first decides.
  const stored = await sealedState(db, vault.keyId);
  if (stored.checkValue !== undefined && !constantTimeEqual(stored.checkValue, expected)) {
    return { status: "mismatch" };
  }
  return hasSealedRows ? { status: "verified" } : { status: "recorded" };
}

/** Whether the first sealed row (a user key, else a bunker key) opens with `vault`. */
async function opensOneSealedRow(db: Db, vault: Vault): Promise<boolean> {
  const key = await db.kysely.selectFrom("keys").select(["pubkey", "secret_sealed"])
    .orderBy("created_at").limit(1).executeTakeFirst();
  const sealed = key
    ? { value: key.secret_sealed, pubkey: key.pubkey }
    : await db.kysely.selectFrom("authorizations")
      .select(["bunker_pubkey", "bunker_secret_sealed"]).orderBy("created_at").limit(1)
      .executeTakeFirst().then((row) =>
        row && { value: row.bunker_secret_sealed, pubkey: row.bunker_pubkey }
      );
  if (!sealed) return true;
  try {
    (await vault.open(sealed.value, sealed.pubkey)).fill(0);
    return true;
  } catch (_error: unknown) {
    return false; // does not open: another master key (or a damaged row) — either way, refuse
  }
}

function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  }
  return diff === 0;
}
