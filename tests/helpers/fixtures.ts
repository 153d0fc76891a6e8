/** Small builders for rows that tests need: keys and authorizations with real-looking values. */
import type { Db } from "../../src/db/db.ts";
import { createRepos } from "../../src/db/repos/repos.ts";
import type { KeyRecord } from "../../src/db/repos/keys.ts";
import type { NewAuthorization } from "../../src/db/repos/authorizations.ts";

/** A random 64-hex string (stands in for pubkeys and digests where no key math is needed). */
export function randomHex64(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(32)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/** Stores a user key named `name` with a placeholder sealed secret. */
export async function insertKey(db: Db, name: string): Promise<KeyRecord> {
  return await createRepos(db).keys.create({
    id: crypto.randomUUID(),
    name,
    pubkey: randomHex64(),
    secretSealed: "v1.1.placeholder",
  });
}

/** Stores an authorization for `keyId`; fields can be overridden. */
export async function insertAuthorization(
  db: Db,
  keyId: string,
  overrides: Partial<NewAuthorization> = {},
): Promise<NewAuthorization> {
  const input: NewAuthorization = {
    id: crypto.randomUUID(),
    keyId,
    policyId: null,
    bunkerPubkey: randomHex64(),
    bunkerSecretSealed: "v1.1.placeholder",
    secretHash: randomHex64(),
    relays: ["ws://127.0.0.1:7777"],
    maxUses: 1,
    expiresAt: null,
    label: null,
    ...overrides,
  };
  await createRepos(db).authorizations.create(input);
  return input;
}
