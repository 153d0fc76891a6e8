/**
 * `kinds` and the dangerous-kind default: which event kinds `sign_event` may sign.
 */
import type { KindSpec } from "./document.ts";
import { isDangerousKind, isKind, kindListed } from "./kinds.ts";
import {
  ALLOW,
  deny,
  type PolicyContext,
  type PolicyRequest,
  type PolicyRule,
  type PolicyVerdict,
} from "./rule.ts";

/** Denies a `sign_event` whose kind is missing or not an integer 0–65535. */
export class SignKindPresentRule implements PolicyRule {
  /** Denies `sign_event` without a valid kind; allows other methods. */
  check(request: PolicyRequest, _ctx: PolicyContext): PolicyVerdict {
    if (request.method !== "sign_event" || isKind(request.kind)) return ALLOW;
    return deny("invalid", `sign_event needs an event kind 0–65535, got ${String(request.kind)}`);
  }
}

/** Denies signing a dangerous kind unless the policy opted in to it. */
export class DangerousKindRule implements PolicyRule {
  readonly #optedIn: ReadonlySet<number>;

  constructor(optedIn: readonly number[]) {
    this.#optedIn = new Set(optedIn);
  }

  /** Denies a dangerous kind not opted in to. */
  check(request: PolicyRequest, _ctx: PolicyContext): PolicyVerdict {
    const kind = request.kind;
    if (request.method !== "sign_event" || kind === undefined) return ALLOW;
    if (!isDangerousKind(kind) || this.#optedIn.has(kind)) return ALLOW;
    return deny(
      "forbidden",
      `kind ${kind} is a dangerous kind, which this policy does not allow (allow_dangerous_kinds)`,
    );
  }
}

/** Allows signing only the listed kinds and ranges. */
export class KindRule implements PolicyRule {
  readonly #kinds: readonly KindSpec[];

  constructor(kinds: readonly KindSpec[]) {
    this.#kinds = kinds;
  }

  /** Denies a kind outside the list. */
  check(request: PolicyRequest, _ctx: PolicyContext): PolicyVerdict {
    const kind = request.kind;
    if (request.method !== "sign_event" || kind === undefined) return ALLOW;
    return kindListed(this.#kinds, kind)
      ? ALLOW
      : deny("forbidden", `kind ${kind} is not allowed by this policy`);
  }
}
