/**
 * `POST /api/authorizations`: grants a stored key to NIP-46 clients through a fresh bunker
 * keypair and a one-time-shown connection secret.
 *
 * Order: validate every field → resolve key and policy → seal the new bunker secret key (AAD =
 * bunker pubkey) → store the row with only the sha256 of the connection secret → read the row back
 * as the listener sees it and send `upsert` → wait (bounded) until the listener is subscribed →
 * answer 201 with the `bunker://` URL. The URL and the secret exist only in that response: they
 * are never stored, logged or put into an error message.
 */
import type { Context } from "hono";
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { pubkeyToHex } from "../config/config.ts";
import { ForeignKeyViolationError } from "../db/db.ts";
import type { KeyRecord } from "../db/repos/keys.ts";
import type { Repos } from "../db/repos/mod.ts";
import { deadline, TimeoutError } from "../util/async.ts";
import { encodeHex, sha256Hex } from "../util/hex.ts";
import { readJsonObject } from "./body.ts";
import { ApiError, badField, quote } from "./errors.ts";
import {
  isValidName,
  parseExpiresIn,
  parseLabel,
  parseMaxUses,
  parseName,
  parseRelays,
  rejectUnknownFields,
  requireString,
} from "./fields.ts";
import { policyForUse } from "./policy_store.ts";
import type { AppEnv } from "./types.ts";
import { iso } from "./views.ts";

const FIELDS = ["key", "relays", "policy", "max_uses", "expires_in", "label"] as const;

/** Builds the `bunker://` URL: lowercase hex bunker pubkey, each relay, then the secret. */
export function bunkerUrl(bunkerPubkey: string, relays: readonly string[], secret: string): string {
  const query = relays.map((relay) => `relay=${strictEncode(relay)}`);
  query.push(`secret=${strictEncode(secret)}`);
  return `bunker://${bunkerPubkey.toLowerCase()}?${query.join("&")}`;
}

/**
 * `encodeURIComponent` plus `!'()*~`, which it leaves alone but nostr-tools' bunker URL pattern
 * refuses (a relay path like `/~nostr` would otherwise make the URL unreadable to clients).
 */
function strictEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*~]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Handles `POST /api/authorizations` (see the module doc). */
export async function createAuthorization(c: Context<AppEnv>): Promise<Response> {
  const { repos, channel, deps } = c.var;
  const body = readJsonObject(c);
  rejectUnknownFields(body, FIELDS);
  const keyRef = requireString(body, "key", 200);
  const relays = parseRelays(body.relays, deps.defaultRelays);
  if (relays.length === 0) {
    throw badField("relays", "none given, and the server has no default relays (--relay)");
  }
  const policyName = body.policy === undefined || body.policy === null
    ? null
    : parseName(body, "policy");
  const maxUses = parseMaxUses(body.max_uses);
  const expiresIn = parseExpiresIn(body.expires_in);
  const label = parseLabel(body.label);

  const key = await resolveKey(repos, keyRef);
  const policy = policyName === null ? null : await policyForUse(repos, channel, policyName);

  const connectionSecret = encodeHex(crypto.getRandomValues(new Uint8Array(32)));
  const { id, bunkerPubkey, subscribed } = await mintAuthorization(c, {
    key,
    policyId: policy?.id ?? null,
    relays,
    maxUses,
    expiresAt: expiresIn === null ? null : new Date(deps.now() + expiresIn * 1000),
    label,
    secret: connectionSecret,
  });
  const record = await repos.authorizations.get(id);
  if (!record) throw new Error(`Authorization ${id} vanished right after it was created`);
  c.var.log({
    level: "info",
    ns: "http.authorizations",
    msg: "Authorization created",
    requestId: c.var.requestId,
    authorizationId: id,
    bunkerPubkey,
    keyName: key.name,
    policyName,
    subscribed,
  });
  return c.json({
    id,
    bunker_url: bunkerUrl(bunkerPubkey, record.relays, connectionSecret),
    bunker_pubkey: bunkerPubkey,
    key_name: record.keyName,
    user_pubkey: record.userPubkey,
    relays: record.relays,
    policy: record.policyName,
    max_uses: record.maxUses,
    expires_at: record.expiresAt === null ? null : iso(record.expiresAt),
    label: record.label,
    created_at: iso(record.createdAt),
    subscribed,
  }, 201);
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

/**
 * Creates a bunker keypair (sealed, AAD = its pubkey) and the authorization row, binds `client`
 * when given, then sends the row as the listener sees it and waits (bounded) until the listener is
 * subscribed — so no URL or pairing reply goes out before keycast can hear the client.
 */
export async function mintAuthorization(
  c: Context<AppEnv>,
  input: MintInput,
): Promise<{ id: string; bunkerPubkey: string; bunkerSecretSealed: string; subscribed: boolean }> {
  const { repos, vault, channel } = c.var;
  const bunkerSecretKey = generateSecretKey();
  let bunkerPubkey: string;
  let bunkerSecretSealed: string;
  try {
    bunkerPubkey = getPublicKey(bunkerSecretKey);
    bunkerSecretSealed = await vault.seal(bunkerSecretKey, bunkerPubkey);
  } finally {
    bunkerSecretKey.fill(0);
  }
  const id = crypto.randomUUID();
  try {
    await repos.authorizations.create({
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
  } catch (err: unknown) {
    if (!(err instanceof ForeignKeyViolationError)) throw err;
    throw new ApiError(409, "Cannot create authorization: its key or policy was just removed");
  }
  if (input.client) {
    await repos.clients.redeem({
      authorizationId: id,
      clientPubkey: input.client.pubkey,
      requestedPerms: input.client.perms,
      clientMetadata: input.client.metadata,
    });
  }

  // Committed: now tell the listener, from the row as the database has it.
  const active = await repos.authorizations.loadActiveById(id);
  if (active) channel.send({ type: "upsert", authorization: active });
  const subscribed = active ? await waitSubscribed(c, bunkerPubkey) : false;
  return { id, bunkerPubkey, bunkerSecretSealed, subscribed };
}

/** The key named by `ref`: a hex or npub pubkey of a stored key, else a key name; 404 if none. */
export async function resolveKey(repos: Repos, ref: string): Promise<KeyRecord> {
  const hex = pubkeyToHex(ref);
  const byPubkey = hex === undefined ? undefined : await repos.keys.getByPubkey(hex);
  if (byPubkey) return byPubkey;
  const byName = isValidName(ref) ? await repos.keys.getByName(ref) : undefined;
  if (byName) return byName;
  throw new ApiError(404, `key: no stored key has the name or pubkey ${quote(ref, 100)}`, {
    field: "key",
  });
}

/** Waits up to `subscribeTimeoutMs` for the listener to subscribe `bunkerPubkey`; false if not. */
async function waitSubscribed(c: Context<AppEnv>, bunkerPubkey: string): Promise<boolean> {
  const { awaitSubscribed, subscribeTimeoutMs } = c.var.deps;
  if (!awaitSubscribed) return false;
  const controller = new AbortController();
  // Not tied to the request's own signal: Deno aborts that on every successful response.
  const signal = controller.signal;
  try {
    return await deadline(awaitSubscribed(bunkerPubkey, signal), subscribeTimeoutMs) === true;
  } catch (err: unknown) {
    c.var.log({
      level: "warn",
      ns: "http.authorizations",
      msg: err instanceof TimeoutError
        ? "Listener did not subscribe the new bunker pubkey in time"
        : "Cannot confirm the listener subscribed the new bunker pubkey",
      requestId: c.var.requestId,
      bunkerPubkey,
      timeoutMs: subscribeTimeoutMs,
      error: err instanceof TimeoutError ? undefined : err,
    });
    return false;
  } finally {
    controller.abort(new Error("The subscription wait is over"));
  }
}
