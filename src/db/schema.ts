/**
 * The tables as kysely sees them: one row type per table, shared by both engines. A few column
 * types differ in what the drivers return, and each repository's mapper normalizes them at the
 * boundary (see {@link Timestamp}, {@link JsonColumn}, {@link Count}).
 */
import type { ColumnType, Generated } from "kysely";

/** A timestamp: read as a Date (PostgreSQL) or Unix milliseconds (SQLite); written as a Date. */
export type Timestamp = ColumnType<Date | number, Date | undefined, Date>;
/** A nullable timestamp. */
export type NullableTimestamp = ColumnType<
  Date | number | null,
  Date | null | undefined,
  Date | null
>;
/**
 * A JSON document: read parsed (PostgreSQL `jsonb`) or as text (SQLite); written as the text
 * expression `Db.json()` builds.
 */
export type JsonColumn = ColumnType<unknown, string, string>;
/** A nullable JSON document. */
export type NullableJsonColumn = ColumnType<unknown, string | null | undefined, string | null>;
/** An aggregate count: a bigint as text (PostgreSQL) or a number (SQLite). */
export type Count = number | string | bigint;

/** A nullable column that may be left out of an insert. */
export type Optional<T> = ColumnType<T | null, T | null | undefined, T | null>;

/**
 * `keys`: Nostr keys, the secret sealed by the vault; a person's (`account_id`) or the operator's
 * (null). Names are unique per owner.
 */
export interface KeysTable {
  id: string;
  name: string;
  pubkey: string;
  secret_sealed: string;
  created_at: Timestamp;
  account_id: Optional<string>;
}

/** `accounts`: people who log in with a password. */
export interface AccountsTable {
  id: string;
  username: string;
  email: Optional<string>;
  password_hash: string;
  role: "user" | "admin";
  disabled_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** `sessions`: logged-in browsers, by the sha256 of their cookie's session id. */
export interface SessionsTable {
  id_hash: string;
  account_id: string;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
  user_agent: Optional<string>;
}

/** `invites`: single-use registration codes, by their sha256. */
export interface InvitesTable {
  id: string;
  code_hash: string;
  role: "user" | "admin";
  created_by: Optional<string>;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  used_by: Optional<string>;
}

/** `account_events`: what happened to an account (logins, password changes, exports, …). */
export interface AccountEventsTable {
  id: Generated<Count>;
  account_id: string;
  at: Timestamp;
  action: string;
  detail: Optional<string>;
  ip: Optional<string>;
}

/** `policies`: named policy documents. */
export interface PoliciesTable {
  id: string;
  name: string;
  rules: JsonColumn;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** `authorizations`: one bunker keypair and connection secret per grant of a key. */
export interface AuthorizationsTable {
  id: string;
  key_id: string;
  policy_id: string | null;
  bunker_pubkey: string;
  bunker_secret_sealed: string;
  secret_hash: string;
  relays: JsonColumn;
  max_uses: number | null;
  expires_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  label: string | null;
  created_at: Timestamp;
}

/** `authorization_clients`: client pubkeys that redeemed an authorization's secret. */
export interface AuthorizationClientsTable {
  authorization_id: string;
  client_pubkey: string;
  connected_at: Timestamp;
  last_seen_at: Timestamp;
  logged_out_at: NullableTimestamp;
  requested_perms: string | null;
  client_metadata: NullableJsonColumn;
}

/** `audit_log`: one row per signing decision (NIP-46 or HTTP). */
export interface AuditLogTable {
  id: Generated<Count>;
  at: Timestamp;
  authorization_id: string | null;
  client_pubkey: string | null;
  method: string;
  event_kind: number | null;
  event_id: string | null;
  decision: "allow" | "deny";
  reason: string | null;
  latency_ms: number | null;
  /** How the request came: `nip46` (the default) or `http`. */
  transport: Generated<"nip46" | "http">;
}

/** `nip98_replays`: NIP-98 event ids accepted, until they expire. */
export interface Nip98ReplaysTable {
  event_id: string;
  expires_at: Timestamp;
}

/** `vault_keys`: a check value per master key id, to refuse a wrong master key at start. */
export interface VaultKeysTable {
  key_id: number;
  check_value: string;
  created_at: Timestamp;
}

/** `oauth_clients`: OAuth clients an operator registered, which pins their redirect URIs. */
export interface OAuthClientsTable {
  client_id: string;
  name: string;
  /** JSON array of exact redirect URIs. */
  redirect_uris: string;
  policy_name: Optional<string>;
  created_at: Timestamp;
}

/** `oauth_codes`: authorization codes by their sha256, single use, bound to what was approved. */
export interface OAuthCodesTable {
  code_hash: string;
  client_id: string;
  redirect_uri: string;
  account_id: string;
  key_id: string;
  policy_name: string;
  code_challenge: string;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  replayed_at: NullableTimestamp;
  grant_id: Optional<string>;
}

/** `oauth_grants`: what an approved code became: an authorization and its tokens. */
export interface OAuthGrantsTable {
  id: string;
  authorization_id: string;
  account_id: string;
  client_id: string;
  redirect_origin: string;
  created_at: Timestamp;
  revoked_at: NullableTimestamp;
}

/** `oauth_tokens`: access and refresh tokens by their sha256. */
export interface OAuthTokensTable {
  token_hash: string;
  grant_id: string;
  kind: "access" | "refresh";
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

/** `schema_migrations`: the migrations applied, by version. */
export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: Timestamp;
}

/** Every table. */
export interface Database {
  keys: KeysTable;
  policies: PoliciesTable;
  authorizations: AuthorizationsTable;
  authorization_clients: AuthorizationClientsTable;
  audit_log: AuditLogTable;
  nip98_replays: Nip98ReplaysTable;
  vault_keys: VaultKeysTable;
  accounts: AccountsTable;
  sessions: SessionsTable;
  invites: InvitesTable;
  account_events: AccountEventsTable;
  oauth_clients: OAuthClientsTable;
  oauth_codes: OAuthCodesTable;
  oauth_grants: OAuthGrantsTable;
  oauth_tokens: OAuthTokensTable;
  schema_migrations: SchemaMigrationsTable;
}

/** A timestamp column's value as a Date. */
export function toDate(value: Date | number | string): Date {
  return value instanceof Date ? value : new Date(value);
}

/** A nullable timestamp column's value as a Date or null. */
export function toDateOrNull(value: Date | number | string | null): Date | null {
  return value === null ? null : toDate(value);
}

/**
 * A JSON column's value, parsed. Every JSON column holds an object or an array, so a string can
 * only be SQLite's text form.
 */
export function fromJson(value: unknown): unknown {
  return typeof value === "string" ? JSON.parse(value) : value;
}

/** A JSON object column's value; throws when the stored document is not an object. */
export function jsonObject(value: unknown): Record<string, unknown> {
  const parsed = fromJson(value);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new TypeError("Cannot read a JSON column: expected an object");
  }
  return parsed as Record<string, unknown>;
}

/** A JSON array-of-strings column's value; throws when the stored document is anything else. */
export function jsonStrings(value: unknown): string[] {
  const parsed = fromJson(value);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) {
    throw new TypeError("Cannot read a JSON column: expected an array of strings");
  }
  return parsed;
}
