/**
 * The policy engine's vocabulary: a request, a verdict, and rules with one method `check`,
 * composed in a {@link PipeRule} where all must pass.
 */

/** What a policy decides on: one NIP-46 request from a connected client (or an HTTP grant). */
export interface PolicyRequest {
  /** The NIP-46 method, e.g. `sign_event`. */
  method: string;
  /**
   * The client's pubkey (64-hex), which authored the request; over HTTP signing, the grant's
   * pseudo-client id `http:<grant id>`. Per-client rate limits key on it.
   */
  clientPubkey: string;
  /** The user's pubkey (64-hex), whose key would sign or encrypt. */
  userPubkey: string;
  /** For `sign_event`: the kind of the event to sign. */
  kind?: number;
  /**
   * For `sign_event`: the template's `created_at`, in seconds since the epoch. Requests without it
   * skip the `max_future_seconds` check (the signer still refuses a template without one).
   */
  createdAt?: number;
  /** For `sign_event`: the event content; for `*_encrypt`: the plaintext. */
  content?: string;
  /** For `nip04_*` / `nip44_*`: the peer pubkey (64-hex). */
  counterparty?: string;
}

/** Everything a rule needs besides the request: injected, so tests control time. */
export interface PolicyContext {
  /** Current time in ms since the epoch. */
  now: number;
}

/** A rule's decision; `reason` starts with `forbidden: `, `rate-limited: ` or `invalid: `. */
export type PolicyVerdict = { allow: true } | { allow: false; reason: string };

/** A rule: one check, run for every request (rules that do not apply allow). */
export interface PolicyRule {
  /** Decides on `request`. Never throws. */
  check(request: PolicyRequest, ctx: PolicyContext): PolicyVerdict;
}

/** The verdict that lets a request through. */
export const ALLOW: PolicyVerdict = Object.freeze({ allow: true });

/** A denial with a stable prefix. */
export function deny(
  prefix: "forbidden" | "rate-limited" | "invalid",
  message: string,
): PolicyVerdict {
  return { allow: false, reason: `${prefix}: ${message}` };
}

/** All rules must pass, in order; the first denial is the verdict. */
export class PipeRule implements PolicyRule {
  readonly #rules: readonly PolicyRule[];

  constructor(rules: readonly PolicyRule[]) {
    this.#rules = rules;
  }

  /** The first denial among the rules, else allow. */
  check(request: PolicyRequest, ctx: PolicyContext): PolicyVerdict {
    for (const rule of this.#rules) {
      const verdict = rule.check(request, ctx);
      if (!verdict.allow) return verdict;
    }
    return ALLOW;
  }
}
