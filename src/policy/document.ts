/**
 * The policy document: the JSON an admin stores under a policy name and an authorization uses.
 *
 * ```json
 * {
 *   "methods": ["sign_event", "nip44_encrypt", "nip44_decrypt"],
 *   "kinds": [1, 7, [30000, 39999]],
 *   "allow_dangerous_kinds": [3],
 *   "content": { "blocked_words": ["casino"], "blocked_patterns": ["free\\s+sats"], "max_length": 8192 },
 *   "encrypt_to_self": false,
 *   "counterparties": ["<64-hex pubkey>"],
 *   "rate_limits": {
 *     "per_client": { "per_minute": 120, "burst": 20 },
 *     "per_method": { "sign_event": { "per_minute": 60, "burst": 10 } }
 *   },
 *   "max_future_seconds": 900
 * }
 * ```
 *
 * Every field is optional; a missing field means "no restriction from this rule", except that the
 * {@link DANGEROUS_KINDS} are never signed unless listed in `allow_dangerous_kinds`, and an event's
 * `created_at` may be at most 15 minutes ahead unless `max_future_seconds` says otherwise. A
 * missing (`null`) policy is the same as `{}`. Unknown fields are problems (a typo must not
 * silently lift a restriction). Every rule below is checked for every request and all must pass;
 * the first denial is the reply (`forbidden: …`, `rate-limited: …`, `invalid: …`).
 *
 * - `methods` — the NIP-46 methods allowed. The session methods `connect`, `ping`,
 *   `get_public_key`, `switch_relays`, `get_relays` and `logout` are always allowed (they use no
 *   secret key, and clients break without them), so this list effectively chooses among
 *   `sign_event`, `nip04_encrypt`, `nip04_decrypt`, `nip44_encrypt` and `nip44_decrypt`.
 * - `kinds` — event kinds `sign_event` may sign: integers 0–65535 or inclusive `[from, to]` ranges.
 * - `allow_dangerous_kinds` — integers; the opt-in for each dangerous kind. `kinds` still applies,
 *   so a dangerous kind must appear in both when `kinds` is given. Naming a dangerous kind as a
 *   single integer in `kinds` without opting in is a problem (ranges may span them: they stay denied).
 * - `content` — checked on the content of events to sign and on the plaintext to encrypt.
 *   `blocked_words` (≤ 500, 1–100 characters) match whole words, case-insensitively;
 *   `blocked_patterns` (≤ 50, ≤ 200 characters) are RE2 syntax (no lookarounds or
 *   backreferences; see `pattern.ts`), matched case-insensitively anywhere in the content in
 *   linear time under a per-request cost budget; `max_length` caps the length in UTF-16 code
 *   units. With words or patterns set, content over 65,536 characters, or too costly to check, is
 *   denied rather than checked in part.
 * - `encrypt_to_self` — when true, NIP-04/NIP-44 encrypt and decrypt only with the user's own pubkey.
 * - `counterparties` — when given, NIP-04/NIP-44 encrypt and decrypt only with these pubkeys
 *   (64-hex, ≤ 1,000). With `encrypt_to_self` both apply.
 * - `rate_limits` — token buckets: `per_client` for all of a client's requests, `per_method` per
 *   (client, method). `per_minute` is the refill rate (1–1,000,000), `burst` the bucket size
 *   (default: `per_minute`). Every request takes a token, denied ones included.
 * - `max_future_seconds` — integer 0–31,536,000 (a year), default 900 (15 minutes): `sign_event`
 *   denies a template whose `created_at` is more than this many seconds ahead of the server clock
 *   (a far-future replaceable event could never be replaced). `0` denies any future timestamp.
 *   Past timestamps are not limited.
 *
 * Built-ins ({@link BUILTIN_POLICIES}), all with the default `max_future_seconds`: `full` = `{}`
 * (everything but the dangerous kinds); `social` signs notes, reactions, reposts, comments, zap
 * requests, highlights, articles and DMs (kinds 1, 4, 6, 7, 13, 14, 16, 1059, 1111, 9734, 9802,
 * 30023), encrypts and decrypts with anyone, at ≤ 600 requests a minute per client (burst 120);
 * `read-only` allows the session methods and NIP-04/NIP-44 decrypt only: no signing, no
 * encrypting.
 */
import { BUILTIN_POLICIES } from "./builtins.ts";
import { DANGEROUS_KINDS } from "./kinds.ts";
import { validatePolicyDocument } from "./validate.ts";

export { BUILTIN_POLICIES, DANGEROUS_KINDS };

/** An event kind or an inclusive `[from, to]` range of kinds. */
export type KindSpec = number | readonly [number, number];

/** A token bucket: `per_minute` tokens are added each minute, up to `burst`. */
export interface RateLimit {
  /** Refill rate in tokens per minute, 1–1,000,000. */
  per_minute: number;
  /** Bucket size (the burst allowed at once), 1–1,000,000. Default: `per_minute`. */
  burst?: number;
}

/** The content filter. */
export interface ContentRules {
  /** Words or phrases denied as whole words, case-insensitively. */
  blocked_words?: string[];
  /** Patterns (RE2 syntax, case-insensitive) denied anywhere in the content. */
  blocked_patterns?: string[];
  /** Maximum content length in UTF-16 code units. */
  max_length?: number;
}

/** A validated policy document (see the module doc for each field). */
export type PolicyDocument = {
  /** Allowed NIP-46 methods beside the always-allowed session methods. Default: all. */
  methods?: string[];
  /** Kinds `sign_event` may sign. Default: all but the dangerous kinds. */
  kinds?: KindSpec[];
  /** Dangerous kinds opted into. Default: none. */
  allow_dangerous_kinds?: number[];
  /** Content filter. Default: none. */
  content?: ContentRules;
  /** Encrypt and decrypt only with the user's own pubkey. Default: false. */
  encrypt_to_self?: boolean;
  /** Pubkeys (64-hex) encrypt and decrypt may use. Default: any. */
  counterparties?: string[];
  /** Token-bucket rate limits. Default: none. */
  rate_limits?: {
    /** One bucket per client for all its requests. */
    per_client?: RateLimit;
    /** One bucket per (client, method), keyed by method name. */
    per_method?: Record<string, RateLimit>;
  };
  /** Most seconds a `sign_event` template's `created_at` may be ahead, 0–31,536,000. Default 900. */
  max_future_seconds?: number;
};

/**
 * Validates a policy document as given by an admin: the document (unchanged) or every problem
 * found, one sentence each naming the field path and value.
 */
export function parsePolicyDocument(
  doc: unknown,
): { ok: true; policy: PolicyDocument } | { ok: false; problems: string[] } {
  const result = validatePolicyDocument(doc);
  return result.ok ? { ok: true, policy: result.policy } : result;
}
