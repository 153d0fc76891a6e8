/**
 * Client-initiated pairing with a `nostrconnect://` URI: keycast creates an authorization with a
 * fresh bunker key, bound to the URI's client (max_uses 1), on the URI's relays; subscribes first;
 * then answers the client's pending `connect` with `result = <its secret>` from the bunker key.
 * The client's requested perms and metadata are stored as display-only hints, never as grants.
 */
import type { AuthorizationRecord } from "../db/repos/authorizations.ts";
import { NostrConnectError, parseNostrConnectUri } from "../nip46/nostrconnect.ts";
import { expiryOf, mintAuthorization } from "./authorizations.ts";
import type { ServiceDeps } from "./deps.ts";
import { invalid, unavailable } from "./errors.ts";
import { resolveKey } from "./keys.ts";
import { policyForUse } from "./policies.ts";

/** A pairing request. */
export interface PairingInput {
  /** The `nostrconnect://` URI (holds the client's secret: never log it). */
  uri: string;
  /** The key: its name, hex pubkey or npub. */
  key: string;
  /** Policy name, or null for none. */
  policy: string | null;
  /** Display label; default: the app's name from the URI. */
  label: string | null;
  /** Lifetime in seconds, or null for no expiry. */
  expiresIn: number | null;
  /** When set, `key` must be a key of this account (the person pairing). */
  owner?: string;
}

/** A completed pairing. */
export interface Paired {
  record: AuthorizationRecord;
  clientPubkey: string;
  /** Permissions the app asked for (display only). */
  requestedPerms: string[];
  /** Whether the listener confirmed its subscription in time. */
  subscribed: boolean;
  /** Whether a relay accepted the `connect` reply. */
  sent: boolean;
}

/** Pairs with the app behind `input.uri` (see the module doc). */
export async function pairNostrConnect(deps: ServiceDeps, input: PairingInput): Promise<Paired> {
  let pairing;
  try {
    pairing = parseNostrConnectUri(input.uri);
  } catch (error: unknown) {
    if (!(error instanceof NostrConnectError)) throw error;
    throw invalid("uri", error.message);
  }
  if (!deps.listener) throw unavailable("Cannot pair: the relay listener is not running");
  const key = await resolveKey(deps.repos, input.key, input.owner);
  const policy = input.policy === null ? null : await policyForUse(deps, input.policy);
  const minted = await mintAuthorization(deps, {
    key,
    policyId: policy?.id ?? null,
    relays: pairing.relays,
    maxUses: 1,
    expiresAt: expiryOf(deps, input.expiresIn),
    label: input.label ?? pairing.metadata.name ?? null,
    secret: pairing.secret,
    client: {
      pubkey: pairing.clientPubkey,
      perms: pairing.perms.length ? pairing.perms.join(",") : null,
      metadata: Object.keys(pairing.metadata).length ? pairing.metadata : null,
    },
  });
  const sent = await deps.listener.sendPairingReply({
    bunkerPubkey: minted.bunkerPubkey,
    bunkerSecretSealed: minted.bunkerSecretSealed,
    clientPubkey: pairing.clientPubkey,
    secret: pairing.secret,
    relays: pairing.relays,
  });
  const record = await deps.repos.authorizations.get(minted.id);
  if (!record) throw new Error(`Authorization ${minted.id} vanished right after it was created`);
  deps.log({
    level: "info",
    ns: "service.pairing",
    msg: "Paired a nostrconnect client",
    authorizationId: minted.id,
    bunkerPubkey: minted.bunkerPubkey,
    clientPubkey: pairing.clientPubkey,
    subscribed: minted.subscribed,
    sent,
  });
  return {
    record,
    clientPubkey: pairing.clientPubkey,
    requestedPerms: pairing.perms,
    subscribed: minted.subscribed,
    sent,
  };
}
