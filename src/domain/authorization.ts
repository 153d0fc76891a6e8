/**
 * The authorization as the signer serves it: everything the listener needs for one grant of a
 * user key to NIP-46 clients. Secrets stay sealed by the vault.
 */

/** A client pubkey that redeemed the authorization's connection secret. */
export interface AuthorizedClient {
  /** The client's pubkey, hex. */
  clientPubkey: string;
  /** True once the client sent `logout`; it must `connect` again to use the authorization. */
  loggedOut: boolean;
}

/** Everything the listener needs to serve one authorization; secrets stay sealed by the vault. */
export interface ActiveAuthorization {
  /** Authorization id. */
  id: string;
  /** The user key's id. */
  keyId: string;
  /** The user key's name. */
  keyName: string;
  /** The user pubkey, hex. */
  userPubkey: string;
  /** The user secret key, vault-sealed with additional data = `userPubkey`. */
  userSecretSealed: string;
  /** The bunker pubkey, hex. */
  bunkerPubkey: string;
  /** The bunker secret key, vault-sealed with additional data = `bunkerPubkey`. */
  bunkerSecretSealed: string;
  /** sha256 hex of the connection secret. */
  secretHash: string;
  /** Relay URLs the authorization answers on. */
  relays: string[];
  /** Name of the policy, or null when none is attached. */
  policyName: string | null;
  /** The policy document as stored (validated elsewhere); null = no policy. */
  policy: unknown;
  /** Largest number of distinct clients that may connect, or null for no limit. */
  maxUses: number | null;
  /** Expiry as unix seconds, or null for none. */
  expiresAt: number | null;
  /** Clients that already redeemed the connection secret. */
  clients: AuthorizedClient[];
}
