/**
 * Local checks of subcommand arguments before anything reaches the server, reusing the admin
 * API's own field rules so both sides agree. Each returns the clean value or throws a
 * {@link UsageError} naming the flag and quoting the value.
 */
import {
  DURATION_RULE,
  isUuid,
  isValidName,
  labelProblem,
  MAX_MAX_USES,
  MAX_RELAYS,
  NAME_RULE,
  parseDuration as durationSeconds,
} from "../../domain/fields.ts";
import { pubkeyToHex } from "../../nostr/pubkey.ts";
import { relayUrlProblem } from "../../nostr/relay_url.ts";
import type { FlagValues } from "../../config/flags.ts";
import { type Problems, stringFlag, UsageError } from "./common.ts";
import { cleanCell } from "./table.ts";

/** A key or policy name: 1 to 64 of `A-Z a-z 0-9 . _ -`. */
export function checkName(flag: string, value: string): string {
  if (isValidName(value)) return value;
  throw new UsageError([`${flag}: cannot use "${value}": ${NAME_RULE}`]);
}

/** `--key`: a key name, an npub or a 64-hex pubkey (the server resolves which key it is). */
export function checkKeyRef(value: string): string {
  if (isValidName(value) || pubkeyToHex(value) !== undefined) return value;
  throw new UsageError([
    `--key: cannot use "${value}": give a key name, an npub or a 64-hex pubkey`,
  ]);
}

// The account rules of `checkUsername` and `checkEmail` in src/service/accounts.ts: keep in step.
const USERNAME = /^[a-z0-9][a-z0-9._-]{2,31}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const MAX_EMAIL_CHARS = 254;

/** What a username may be, for messages. */
export const USERNAME_RULE =
  "use 3 to 32 letters, digits, dots, dashes or underscores, starting with a letter or digit";

/** Whether `value` is a username as the server stores it (lowercase). */
export function isUsername(value: string): boolean {
  return USERNAME.test(value);
}

/** A new account's username, trimmed and lowercased as the server stores it. */
export function checkUsername(what: string, value: string): string {
  const username = value.trim().toLowerCase();
  if (isUsername(username)) return username;
  throw new UsageError([`${what}: cannot use "${value}": ${USERNAME_RULE}`]);
}

function isEmail(value: string): boolean {
  return value.length <= MAX_EMAIL_CHARS && EMAIL.test(value);
}

/** `--email`: an email address, trimmed and lowercased as the server stores it. */
export function checkEmail(value: string): string {
  const email = value.trim().toLowerCase();
  if (isEmail(email)) return email;
  throw new UsageError([`--email: cannot use "${value}": give an email address like a@b.example`]);
}

/** An existing account: its username, its email or its id (a UUID), trimmed. */
export function checkAccountRef(what: string, value: string): string {
  const ref = value.trim();
  const lower = ref.toLowerCase();
  if (isUsername(lower) || isEmail(lower) || isUuid(lower)) return ref;
  throw new UsageError([
    `${what}: cannot use "${value}": give an account's username, email or id`,
  ]);
}

// The OAuth client rules of `registerOAuthClient` (src/service/oauth_clients.ts) and of
// `checkRedirectUri` (src/service/oauth.ts): keep in step.
const CLIENT_ID = /^[\x21-\x7e]{1,200}$/;
const MAX_CLIENT_NAME_CHARS = 100;
const MAX_REDIRECT_URI_CHARS = 2_000;
/** Most redirect URIs one OAuth client may register (as the server allows). */
export const MAX_REDIRECT_URIS = 20;

/** An OAuth `client_id`, trimmed: 1 to 200 printable ASCII characters without spaces. */
export function checkClientId(what: string, value: string): string {
  const clientId = value.trim();
  if (CLIENT_ID.test(clientId)) return clientId;
  throw new UsageError([
    `${what}: cannot use "${cleanCell(value)}": ` +
    "use 1 to 200 printable ASCII characters without spaces",
  ]);
}

/** `--name` of an OAuth client, trimmed: 1 to 100 characters, no control characters. */
export function checkClientName(value: string): string {
  const name = value.trim();
  if (name !== "" && name.length <= MAX_CLIENT_NAME_CHARS && !/\p{Cc}/u.test(name)) return name;
  throw new UsageError([
    `--name: cannot use "${cleanCell(value)}": ` +
    `use 1 to ${MAX_CLIENT_NAME_CHARS} characters, no control characters`,
  ]);
}

/**
 * `--redirect-uri`: 1 to {@link MAX_REDIRECT_URIS} URIs of any scheme but `javascript:`, `data:`,
 * `vbscript:` and `file:`, without a fragment or credentials; deduplicated, every bad one listed.
 */
export function checkRedirectUris(uris: readonly string[]): string[] {
  const unique = [...new Set(uris)];
  const problems = unique.flatMap((uri) => {
    const problem = redirectUriProblem(uri);
    return problem ? [`--redirect-uri: cannot use "${cleanCell(uri)}": ${problem}`] : [];
  });
  if (unique.length === 0) problems.push("--redirect-uri: give at least one redirect URI");
  if (unique.length > MAX_REDIRECT_URIS) {
    problems.push(
      `--redirect-uri: ${unique.length} URIs given, the limit is ${MAX_REDIRECT_URIS}`,
    );
  }
  if (problems.length) throw new UsageError(problems);
  return unique;
}

function redirectUriProblem(uri: string): string | undefined {
  if (uri.length > MAX_REDIRECT_URI_CHARS) {
    return `it is longer than ${MAX_REDIRECT_URI_CHARS} characters`;
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch (_error: unknown) {
    // List flags split at commas, so a URI holding one arrives here in pieces.
    return "it is not a URL (commas separate URIs)";
  }
  if (uri.includes("#")) return "a redirect URI must not have a fragment";
  if (url.username !== "" || url.password !== "") {
    return "a redirect URI must not carry credentials";
  }
  if (/^(javascript|data|vbscript|file):$/i.test(url.protocol)) {
    return `${url.protocol} URIs cannot receive codes`;
  }
  return undefined;
}

/** ws:// or wss:// relay URLs, at most {@link MAX_RELAYS}; every bad one is listed. */
export function checkRelays(relays: readonly string[]): string[] {
  const problems = relays.flatMap((relay) => {
    const problem = relayUrlProblem(relay);
    return problem ? [`--relay: cannot use relay URL "${relay}": ${problem}`] : [];
  });
  if (relays.length > MAX_RELAYS) {
    problems.push(`--relay: ${relays.length} relays given, the limit is ${MAX_RELAYS}`);
  }
  if (problems.length) throw new UsageError(problems);
  return [...relays];
}

/** `--max-uses`: a whole number from 1 to 1,000,000, or `unlimited` (null). */
export function parseMaxUsesFlag(value: string): number | null {
  if (value.trim().toLowerCase() === "unlimited") return null;
  const n = Number(value);
  if (/^\s*\d+\s*$/.test(value) && n >= 1 && n <= MAX_MAX_USES) return n;
  throw new UsageError([
    `--max-uses: cannot use "${value}": give a whole number from 1 to ${MAX_MAX_USES}, or unlimited`,
  ]);
}

/** A duration like `3600`, `45m`, `12h`, `30d`, `2w` (1 second to 10 years), in seconds. */
export function parseDuration(flag: string, value: string): number {
  const seconds = durationSeconds(value);
  if (seconds !== undefined) return seconds;
  throw new UsageError([`${flag}: cannot use "${value}": give ${DURATION_RULE}`]);
}

/** `--label`: printable text of at most 200 characters. */
export function checkLabel(value: string): string {
  const problem = labelProblem(value);
  if (problem === undefined) return value;
  throw new UsageError([`--label: ${problem}`]);
}

/** Fewest characters of an authorization id accepted as a prefix of it. */
export const MIN_ID_PREFIX = 4;

/**
 * An authorization id (a UUID) or a prefix of one ({@link MIN_ID_PREFIX} to 36 hex digits and
 * dashes), lowercased; `resolveAuthorizationId` (ids.ts) turns a prefix into the id.
 */
export function checkIdOrPrefix(what: string, value: string): string {
  const id = value.trim().toLowerCase();
  if (isUuid(id) || new RegExp(`^[0-9a-f-]{${MIN_ID_PREFIX},36}$`).test(id)) return id;
  throw new UsageError([
    `${what}: cannot use "${value}": give an authorization id (a UUID) ` +
    `or at least its first ${MIN_ID_PREFIX} characters`,
  ]);
}

/** `--since`: an ISO 8601 time, or a duration back from `nowMs`; returned as ISO 8601. */
export function parseSince(value: string, nowMs: number): string {
  if (/^\s*\d+\s*[smhdw]?\s*$/i.test(value)) {
    return new Date(nowMs - parseDuration("--since", value) * 1000).toISOString();
  }
  const time = Date.parse(value);
  if (/^\d{4}-\d\d-\d\d/.test(value.trim()) && !Number.isNaN(time)) {
    return new Date(time).toISOString();
  }
  throw new UsageError([
    `--since: cannot use "${value}": give an ISO 8601 time (2025-01-31T12:00:00Z) ` +
    "or a duration back from now (30m, 12h, 7d)",
  ]);
}

/** The flags `authorize` and `connect` share: who (`--key`) and the limits of the grant. */
export interface GrantFlags {
  key: string;
  policy?: string;
  label?: string;
  /** Lifetime in seconds. */
  expires_in?: number;
}

/** Reads `--key`, `--policy`, `--label` and `--expires-in`, recording problems in `problems`. */
export function grantFlags(values: FlagValues, action: string, problems: Problems): GrantFlags {
  const key = stringFlag(values, "key")?.trim();
  if (key === undefined) problems.add(`"${action}" needs --key NAME|NPUB`);
  else problems.check(() => checkKeyRef(key));
  const grant: GrantFlags = { key: key ?? "" };
  const policy = stringFlag(values, "policy");
  if (policy !== undefined) grant.policy = problems.check(() => checkName("--policy", policy));
  const expiresIn = stringFlag(values, "expires-in");
  if (expiresIn !== undefined) {
    grant.expires_in = problems.check(() => parseDuration("--expires-in", expiresIn));
  }
  const label = stringFlag(values, "label");
  if (label !== undefined) grant.label = problems.check(() => checkLabel(label));
  return grant;
}
