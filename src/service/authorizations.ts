/**
 * Authorizations: grants of a stored key to NIP-46 clients, each through its own bunker keypair
 * and a connection secret shown once.
 *
 * Creating one: resolve key and policy → seal a fresh bunker secret key (AAD = bunker pubkey) →
 * store the row with only the sha256 of the connection secret → send it to the listener → wait
 * (bounded) until the listener is subscribed → return the `bunker://` URL. The URL and the secret
 * exist only in that return value: they are never stored, logged or put into an error.
 */
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { ForeignKeyViolationError } from "../db/db.ts";
import type { AuthorizationRecord } from "../db/repos/authorizations.ts";
import type { ClientRecord } from "../db/repos/clients.ts";
import type { KeyRecord } from "../db/repos/keys.ts";
import { bunkerUrl, servedRelays } from "../nip46/bunker_url.ts";
import { deadline, TimeoutError } from "../util/async.ts";
import { encodeHex, sha256Hex } from "../util/hex.ts";
import type { ServiceDeps } from "./deps.ts";
import { conflict, invalid, notFound, quote } from "./errors.ts";
import { resolveKey } from "./keys.ts";
import { policyForUse } from "./policies.ts";

/** Default wait for the listener to subscribe a new bunker pubkey, in ms. */
export const DEFAULT_SUBSCRIBE_TIMEOUT_MS = 5_000;

/** What a new authorization grants. */
export interface GrantInput {
  /** The key: its name, hex pubkey or npub. */
  key: string;
  /** Normalized relay URLs; empty = the server's default relays. */
  relays: readonly string[];
  /** Policy name, or null for none. */
  policy: string | null;
  /** Distinct clients that may connect, or null for no limit. */
  maxUses: number | null;
  /** Lifetime in seconds, or null for no expiry. */
  expiresIn: number | null;
  /** Display label, or null. */
  label: string | null;
  /** When set, `key` must be a key of this account (the person creating it). */
  owner?: string;
}

/** A new authorization and its one-time URL. */
export interface CreatedAuthorization {
  record: AuthorizationRecord;
  /** The `bunker://` URL with the connection secret: show once, never store or log. */
  bunkerUrl: string;
  /** Whether the listener confirmed its subscription in time. */
  subscribed: boolean;
  /** The relays the URL lists: keycast's own relay first when advertised, then the record's. */
  relays: string[];
}

/** Creates an authorization (see the module doc). */
export async function createAuthorization(
  deps: ServiceDeps,
  input: GrantInput,
): Promise<CreatedAuthorization> {
  const relays = input.relays.length > 0 ? [...input.relays] : [...deps.defaultRelays];
  if (relays.length === 0 && !deps.localRelayUrl) {
    throw invalid("relays", "none given, and the server has no default relays (--relay)");
  }
  const key = await resolveKey(deps.repos, input.key, input.owner);
  const policy = input.policy === null ? null : await policyForUse(deps, input.policy);
  const secret = encodeHex(crypto.getRandomValues(new Uint8Array(32)));
  const minted = await mintAuthorization(deps, {
    key,
    policyId: policy?.id ?? null,
    relays,
    maxUses: input.maxUses,
    expiresAt: expiryOf(deps, input.expiresIn),
    label: input.label,
    secret,
  });
  const record = await deps.repos.authorizations.get(minted.id);
  if (!record) throw new Error(`Authorization ${minted.id} vanished right after it was created`);
  deps.log({
    level: "info",
    ns: "service.authorizations",
    msg: "Authorization created",
    authorizationId: minted.id,
    bunkerPubkey: minted.bunkerPubkey,
    keyName: key.name,
    policyName: input.policy,
    subscribed: minted.subscribed,
  });
  const served = servedRelays(deps.localRelayUrl?.(minted.bunkerPubkey), record.relays);
  return {
    record,
    bunkerUrl: bunkerUrl(minted.bunkerPubkey, served, secret),
    subscribed: minted.subscribed,
    relays: served,
  };
}

/** Every authorization, newest first; revoked ones only when asked. */
export function listAuthorizations(
  deps: Pick<ServiceDeps, "repos">,
  opts: { includeRevoked?: boolean } = {},
): Promise<AuthorizationRecord[]> {
  return deps.repos.authorizations.list(opts);
}

/** One authorization with its clients. */
export async function getAuthorization(
  deps: Pick<ServiceDeps, "repos">,
  id: string,
): Promise<{ record: AuthorizationRecord; clients: ClientRecord[] }> {
  const record = await deps.repos.authorizations.get(id);
  if (!record) throw notFoundId(id);
  return { record, clients: await deps.repos.clients.list(id) };
}

/**
 * Revokes an authorization, then tells the listener. Revoking twice is not an error: the second
 * `remove` is harmless and heals a listener that missed the first.
 */
export async function revokeAuthorization(
  deps: ServiceDeps,
  id: string,
): Promise<{ alreadyRevoked: boolean }> {
  const revoked = await deps.repos.authorizations.revoke(id);
  if (!revoked) throw notFoundId(id);
  // An OAuth grant made this authorization: its HTTP tokens end with it.
  const grant = await deps.repos.oauth.grantOfAuthorization(id);
  if (grant) await deps.repos.oauth.revokeGrant(grant.id);
  deps.changes.removed(revoked.bunkerPubkey);
  deps.log({
    level: "info",
    ns: "service.authorizations",
    msg: "Authorization revoked",
    authorizationId: id,
    bunkerPubkey: revoked.bunkerPubkey,
    alreadyRevoked: revoked.alreadyRevoked,
  });
  return { alreadyRevoked: revoked.alreadyRevoked };
}

/** What {@link mintAuthorization} stores. */
export interface MintInput {
  key: KeyRecord;
  policyId: string | null;
  relays: string[];
  maxUses: number | null;
  expiresAt: Date | null;
  label: string | null;
  /** The connection secret; only its sha256 is stored. */
  secret: string;
  /** A client bound at creation (nostrconnect pairing), with its display-only hints. */
  client?: { pubkey: string; perms: string | null; metadata: Record<string, unknown> | null };
}

/** What {@link mintAuthorization} created. */
export interface Minted {
  id: string;
  bunkerPubkey: string;
  /** The bunker secret key, vault-sealed. */
  bunkerSecretSealed: string;
  subscribed: boolean;
}

/**
 * Creates a bunker keypair (sealed, AAD = its pubkey) and the authorization row, binds `client`
 * when given, then sends the row to the listener and waits (bounded) until it is subscribed — so
 * no URL or pairing reply goes out before keycast can hear the client.
 */
export async function mintAuthorization(deps: ServiceDeps, input: MintInput): Promise<Minted> {
  const bunkerSecretKey = generateSecretKey();
  let bunkerPubkey: string;
  let bunkerSecretSealed: string;
  try {
    bunkerPubkey = getPublicKey(bunkerSecretKey);
    bunkerSecretSealed = await deps.vault.seal(bunkerSecretKey, bunkerPubkey);
  } finally {
    bunkerSecretKey.fill(0);
  }
  const id = crypto.randomUUID();
  try {
    await deps.repos.authorizations.create({
      id,
      keyId: input.key.id,
      policyId: input.policyId,
      bunkerPubkey,
      bunkerSecretSealed,
      secretHash: await sha256Hex(input.secret),
      relays: input.relays,
      maxUses: input.maxUses,
      expiresAt: input.expiresAt,
      label: input.label,
    });
  } catch (error: unknown) {
    if (!(error instanceof ForeignKeyViolationError)) throw error;
    throw conflict("Cannot create authorization: its key or policy was just removed");
  }
  if (input.client) {
    await deps.repos.clients.redeem({
      authorizationId: id,
      clientPubkey: input.client.pubkey,
      requestedPerms: input.client.perms,
      clientMetadata: input.client.metadata,
    });
  }
  const active = await deps.changes.upserted(id);
  const subscribed = active ? await waitSubscribed(deps, bunkerPubkey) : false;
  return { id, bunkerPubkey, bunkerSecretSealed, subscribed };
}

/** The expiry `expiresIn` seconds from now, or null. */
export function expiryOf(deps: Pick<ServiceDeps, "now">, expiresIn: number | null): Date | null {
  return expiresIn === null ? null : new Date(deps.now() + expiresIn * 1000);
}

/** Waits (bounded) for the listener to subscribe `bunkerPubkey`; false if it did not. */
async function waitSubscribed(deps: ServiceDeps, bunkerPubkey: string): Promise<boolean> {
  if (!deps.listener) return false;
  const timeoutMs = deps.subscribeTimeoutMs ?? DEFAULT_SUBSCRIBE_TIMEOUT_MS;
  // Its own controller: the wait must end with this call, whatever the caller's request does.
  const controller = new AbortController();
  try {
    return await deadline(
      deps.listener.awaitSubscribed(bunkerPubkey, controller.signal),
      timeoutMs,
    ) === true;
  } catch (error: unknown) {
    const timedOut = error instanceof TimeoutError;
    deps.log({
      level: "warn",
      ns: "service.authorizations",
      msg: timedOut
        ? "Listener did not subscribe the new bunker pubkey in time"
        : "Cannot confirm the listener subscribed the new bunker pubkey",
      bunkerPubkey,
      timeoutMs,
      ...(timedOut ? {} : { error }),
    });
    return false;
  } finally {
    controller.abort(new Error("The subscription wait is over"));
  }
}

function notFoundId(id: string) {
  return notFound(`No authorization with id ${quote(id)}`);
}
