/**
 * The JSON shapes of the admin API (snake_case, timestamps as ISO 8601 strings). They are built
 * field by field from the records, so a sealed secret or a secret hash can never slip into a
 * response by being added to a record.
 */
import { npubEncode } from "nostr-tools/nip19";
import type { AuthorizationRecord } from "../db/repos/authorizations.ts";
import type { ClientRecord } from "../db/repos/clients.ts";
import type { KeyRecord } from "../db/repos/keys.ts";
import type { PolicyRecord } from "../db/repos/policies.ts";
import type { ListedPolicy, PolicyRules } from "../service/policies.ts";

/** A user key as the API shows it. */
export interface KeyView {
  id: string;
  name: string;
  pubkey: string;
  npub: string;
  created_at: string;
}

/** A policy as the API shows it; built-ins have no timestamps. */
export interface PolicyView {
  name: string;
  rules: PolicyRules;
  builtin: boolean;
  created_at: string | null;
  updated_at: string | null;
}

/** An authorization as the API lists it (no secrets). */
export interface AuthorizationView {
  id: string;
  key_name: string;
  user_pubkey: string;
  bunker_pubkey: string;
  relays: string[];
  policy: string | null;
  max_uses: number | null;
  expires_at: string | null;
  revoked_at: string | null;
  label: string | null;
  created_at: string;
  client_count: number;
  /** `revoked` wins over `expired`. */
  status: "active" | "revoked" | "expired";
}

/** A client of an authorization as the API shows it. */
export interface ClientView {
  client_pubkey: string;
  connected_at: string;
  last_seen_at: string;
  logged_out_at: string | null;
  requested_perms: string | null;
  client_metadata: Record<string, unknown> | null;
}

/** ISO 8601 text of a driver timestamp. */
export function iso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

function isoOrNull(value: Date | string | null): string | null {
  return value === null ? null : iso(value);
}

/** The view of a stored key. */
export function keyView(key: KeyRecord): KeyView {
  return {
    id: key.id,
    name: key.name,
    pubkey: key.pubkey,
    npub: npubEncode(key.pubkey),
    created_at: iso(key.createdAt),
  };
}

/** The view of a stored policy. */
export function policyView(policy: PolicyRecord): PolicyView {
  return {
    name: policy.name,
    rules: policy.rules,
    builtin: false,
    created_at: iso(policy.createdAt),
    updated_at: iso(policy.updatedAt),
  };
}

/** The view of a built-in policy. */
export function builtinPolicyView(name: string, rules: PolicyRules): PolicyView {
  return { name, rules, builtin: true, created_at: null, updated_at: null };
}

/** The view of a listed policy, stored or built in. */
export function listedPolicyView(policy: ListedPolicy): PolicyView {
  return policy.builtin ? builtinPolicyView(policy.name, policy.rules) : policyView(policy.record);
}

/** The view of an authorization; `nowMs` decides whether it has expired. */
export function authorizationView(a: AuthorizationRecord, nowMs: number): AuthorizationView {
  const expiresAt = isoOrNull(a.expiresAt);
  const expired = expiresAt !== null && Date.parse(expiresAt) <= nowMs;
  return {
    id: a.id,
    key_name: a.keyName,
    user_pubkey: a.userPubkey,
    bunker_pubkey: a.bunkerPubkey,
    relays: a.relays,
    policy: a.policyName,
    max_uses: a.maxUses,
    expires_at: expiresAt,
    revoked_at: isoOrNull(a.revokedAt),
    label: a.label,
    created_at: iso(a.createdAt),
    client_count: a.clientCount,
    status: a.revokedAt !== null ? "revoked" : expired ? "expired" : "active",
  };
}

/** The view of an authorization's client. */
export function clientView(client: ClientRecord): ClientView {
  return {
    client_pubkey: client.clientPubkey,
    connected_at: iso(client.connectedAt),
    last_seen_at: iso(client.lastSeenAt),
    logged_out_at: isoOrNull(client.loggedOutAt),
    requested_perms: client.requestedPerms,
    client_metadata: client.clientMetadata,
  };
}
