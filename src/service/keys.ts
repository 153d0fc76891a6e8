/**
 * User keys: generate, import and list. Secret keys are sealed by the vault with the pubkey as
 * additional data, zeroed after use, and never returned, logged or put into an error message.
 */
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { UniqueViolationError } from "../db/db.ts";
import type { KeyRecord } from "../db/repos/keys.ts";
import type { Repos } from "../db/repos/repos.ts";
import { isValidName } from "../domain/fields.ts";
import { pubkeyToHex } from "../nostr/pubkey.ts";
import { parseSecretKey, SecretKeyError } from "../vault/secret_key.ts";
import type { ServiceDeps } from "./deps.ts";
import { conflict, invalid, notFound, quote } from "./errors.ts";

/** Every stored key, oldest first. */
export function listKeys(deps: Pick<ServiceDeps, "repos">): Promise<KeyRecord[]> {
  return deps.repos.keys.list();
}

/** Who a key is stored for: an account (its id), or the operator (null, the default). */
export interface KeyOwnerOption {
  owner?: string | null;
}

/** Generates a fresh key and stores it sealed under `name`. */
export function generateKey(
  deps: ServiceDeps,
  name: string,
  opts: KeyOwnerOption = {},
): Promise<KeyRecord> {
  return storeKey(deps, name, generateSecretKey(), opts.owner ?? null);
}

/**
 * Imports a key given as nsec, 64-hex or NIP-49 ncryptsec (with `password`) and stores it sealed
 * under `name`. Bad input is an `invalid` error on `secret` or `password` that never quotes either.
 */
export async function importKey(
  deps: ServiceDeps,
  input: { name: string; secret: string; password?: string } & KeyOwnerOption,
): Promise<KeyRecord> {
  return await storeKey(
    deps,
    input.name,
    await readSecretKey(input.secret, input.password),
    input.owner ?? null,
  );
}

/** The secret key `secret` (nsec, hex or ncryptsec with `password`); errors never quote either. */
export async function readSecretKey(secret: string, password?: string): Promise<Uint8Array> {
  try {
    return await parseSecretKey(secret, password);
  } catch (error: unknown) {
    if (!(error instanceof SecretKeyError)) throw error;
    // SecretKeyError messages never contain the input or the password.
    throw invalid(
      /password is required/.test(error.message) ? "password" : "secret",
      error.message,
    );
  }
}

/**
 * The key named by `ref`: a hex or npub pubkey of a stored key, else a key name. With `owner`
 * (an account id) only that account's keys are found; without, pubkeys find any key and names
 * the operator's keys.
 */
export async function resolveKey(repos: Repos, ref: string, owner?: string): Promise<KeyRecord> {
  const hex = pubkeyToHex(ref);
  const byPubkey = hex === undefined ? undefined : await repos.keys.getByPubkey(hex);
  if (byPubkey && (owner === undefined || byPubkey.accountId === owner)) return byPubkey;
  const byName = isValidName(ref) ? await repos.keys.getByName(ref, owner ?? null) : undefined;
  if (byName) return byName;
  // An nsec or ncryptsec given here by mistake must not come back in the message.
  if (/^(nsec1|ncryptsec1)/i.test(ref.trim())) {
    throw notFound(
      "key: no stored key has that name or pubkey; it looks like a secret key " +
        "(give the key's name, hex pubkey or npub)",
      "key",
    );
  }
  throw notFound(`key: no stored key has the name or pubkey ${quote(ref, 100)}`, "key");
}

/** Seals and stores `secretKey` under `name` for `owner`, zeroing it. */
async function storeKey(
  deps: ServiceDeps,
  name: string,
  secretKey: Uint8Array,
  owner: string | null,
): Promise<KeyRecord> {
  let pubkey: string;
  let sealed: string;
  try {
    pubkey = getPublicKey(secretKey);
    sealed = await deps.vault.seal(secretKey, pubkey);
  } finally {
    secretKey.fill(0);
  }
  return await storeSealedKey(deps, name, { pubkey, sealed }, owner);
}

/**
 * Stores a key sealed elsewhere (a signer worker generated it) under `name` for `owner`. A taken
 * name or pubkey is a `conflict` on `name` or `secret`.
 */
export async function storeSealedKey(
  deps: ServiceDeps,
  name: string,
  { pubkey, sealed }: { pubkey: string; sealed: string },
  owner: string | null,
): Promise<KeyRecord> {
  try {
    const key = await deps.repos.keys.create({
      id: crypto.randomUUID(),
      name,
      pubkey,
      secretSealed: sealed,
      accountId: owner,
    });
    deps.log({
      level: "info",
      ns: "service.keys",
      msg: "Key stored",
      keyName: name,
      userPubkey: pubkey,
    });
    return key;
  } catch (error: unknown) {
    if (!(error instanceof UniqueViolationError)) throw error;
    if (error.constraint === "keys_pubkey_key") {
      // Whose it is, and its name, are told only to the operator.
      const existing = owner === null ? await deps.repos.keys.getByPubkey(pubkey) : undefined;
      throw conflict(
        `Cannot store key ${quote(name)}: its pubkey ${pubkey} is already stored` +
          (existing ? ` as ${quote(existing.name)}` : " on this server"),
        "secret",
      );
    }
    throw conflict(`Cannot store key ${quote(name)}: a key with that name exists`, "name");
  }
}
