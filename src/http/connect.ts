/**
 * `POST /api/connect {uri, key, policy?, label?, expires_in?}`: client-initiated pairing with a
 * `nostrconnect://` URI. keycast creates an authorization with a fresh bunker key, bound to the
 * URI's client (max_uses 1), on the URI's relays; subscribes first; then answers the client's
 * pending `connect` with `result = <its secret>` from the bunker key. The client's requested perms
 * and metadata are stored as display-only hints, never as grants — the policy decides.
 */
import type { Context } from "hono";
import { NostrConnectError, parseNostrConnectUri } from "../nip46/nostrconnect.ts";
import { readJsonObject } from "./body.ts";
import { mintAuthorization, resolveKey } from "./authorization_create.ts";
import { ApiError, badField } from "./errors.ts";
import {
  parseExpiresIn,
  parseLabel,
  parseName,
  rejectUnknownFields,
  requireString,
} from "./fields.ts";
import { policyForUse } from "./policy_store.ts";
import type { AppEnv } from "./types.ts";
import { iso } from "./views.ts";

/** Handles `POST /api/connect` (see the module doc). */
export async function connectRoute(c: Context<AppEnv>): Promise<Response> {
  const { repos, channel, deps } = c.var;
  const body = readJsonObject(c);
  rejectUnknownFields(body, ["uri", "key", "policy", "label", "expires_in"]);
  const uri = requireString(body, "uri", 4_096);
  let pairing;
  try {
    pairing = parseNostrConnectUri(uri);
  } catch (err: unknown) {
    if (!(err instanceof NostrConnectError)) throw err;
    throw badField("uri", err.message);
  }
  const keyRef = requireString(body, "key", 200);
  const policyName = body.policy === undefined || body.policy === null
    ? null
    : parseName(body, "policy");
  const label = parseLabel(body.label) ?? pairing.metadata.name ?? null;
  const expiresIn = parseExpiresIn(body.expires_in);
  if (!deps.sendPairingReply) {
    throw new ApiError(503, "Cannot pair: the relay listener is not running");
  }
  const key = await resolveKey(repos, keyRef);
  const policy = policyName === null ? null : await policyForUse(repos, channel, policyName);

  const minted = await mintAuthorization(c, {
    key,
    policyId: policy?.id ?? null,
    relays: pairing.relays,
    maxUses: 1,
    expiresAt: expiresIn === null ? null : new Date(deps.now() + expiresIn * 1000),
    label,
    secret: pairing.secret,
    client: {
      pubkey: pairing.clientPubkey,
      perms: pairing.perms.length ? pairing.perms.join(",") : null,
      metadata: Object.keys(pairing.metadata).length ? pairing.metadata : null,
    },
  });
  const sent = await deps.sendPairingReply({
    bunkerPubkey: minted.bunkerPubkey,
    bunkerSecretSealed: minted.bunkerSecretSealed,
    clientPubkey: pairing.clientPubkey,
    secret: pairing.secret,
    relays: pairing.relays,
  });
  const record = await repos.authorizations.get(minted.id);
  c.var.log({
    level: "info",
    ns: "http.connect",
    msg: "Paired a nostrconnect client",
    requestId: c.var.requestId,
    authorizationId: minted.id,
    bunkerPubkey: minted.bunkerPubkey,
    clientPubkey: pairing.clientPubkey,
    subscribed: minted.subscribed,
    sent,
  });
  return c.json({
    id: minted.id,
    bunker_pubkey: minted.bunkerPubkey,
    client_pubkey: pairing.clientPubkey,
    key_name: key.name,
    user_pubkey: key.pubkey,
    relays: pairing.relays,
    policy: record?.policyName ?? null,
    label,
    expires_at: record?.expiresAt ? iso(record.expiresAt) : null,
    requested_perms: pairing.perms,
    subscribed: minted.subscribed,
    sent,
  }, 201);
}
