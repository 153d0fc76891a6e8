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

/** Generates a fresh key and stores it sealed under `name`. */
export function generateKey(deps: ServiceDeps, name: string): Promise<KeyRecord> {
  return storeKey(deps, name, generateSecretKey());
}

/**
 * Imports a key given as nsec, 64-hex or NIP-49 ncryptsec (with `password`) and stores it sealed
 * under `name`. Bad input is an `invalid` error on `secret` or `password` that never quotes either.
 */
export async function importKey(
  deps: ServiceDeps,
  input: { name: string; secret: string; password?: string },
): Promise<KeyRecord> {
  let secretKey: Uint8Array;
  try {
    secretKey = await parseSecretKey(input.secret, input.password);
  } catch (error: unknown) {
    if (!(error instanceof SecretKeyError)) throw error;
    // SecretKeyError messages never contain the input or the password.
    throw invalid(
      /password is required/.test(error.message) ? "password" : "secret",
      error.message,
    );
  }
  return await storeKey(deps, input.name, secretKey);
}

/** The key named by `ref`: a hex or npub pubkey of a stored key, else a key name. */
export async function resolveKey(repos: Repos, ref: string): Promise<KeyRecord> {
  const hex = pubkeyToHex(ref);
  const byPubkey = hex === undefined ? undefined : await repos.keys.getByPubkey(hex);
  if (byPubkey) return byPubkey;
  const byName = isValidName(ref) ? await repos.keys.getByName(ref) : undefined;
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

/** Seals and stores `secretKey` under `name`, zeroing it. */
async function storeKey(
  deps: ServiceDeps,
  name: string,
  secretKey: Uint8Array,
): Promise<KeyRecord> {
  let pubkey: string;
  let sealed: string;
  try {
    pubkey = getPublicKey(secretKey);
    sealed = await deps.vault.seal(secretKey, pubkey);
  } finally {
    secretKey.fill(0);
  }
  try {
    const key = await deps.repos.keys.create({
      id: crypto.randomUUID(),
      name,
      pubkey,
      secretSealed: sealed,
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
      const existing = await deps.repos.keys.getByPubkey(pubkey);
      throw conflict(
        `Cannot store key ${quote(name)}: its pubkey ${pubkey} is already stored` +
          (existing ? ` as ${quote(existing.name)}` : ""),
        "secret",
      );
    }
    throw conflict(`Cannot store key ${quote(name)}: a key with that name exists`, "name");
  }
}
