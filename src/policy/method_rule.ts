/**
 * `methods`: which NIP-46 methods a client may call. Session methods are always allowed.
 */
import { SESSION_METHODS } from "../nostr/nip46.ts";
import { show } from "./problems.ts";
import {
  ALLOW,
  deny,
  type PolicyContext,
  type PolicyRequest,
  type PolicyRule,
  type PolicyVerdict,
} from "./rule.ts";

/** Allows the listed methods and the session methods; denies every other method. */
export class MethodRule implements PolicyRule {
  readonly #allowed: ReadonlySet<string>;

  constructor(methods: readonly string[]) {
    this.#allowed = new Set([...SESSION_METHODS, ...methods]);
  }

  /** Denies a method not in the list. */
  check(request: PolicyRequest, _ctx: PolicyContext): PolicyVerdict {
    return this.#allowed.has(request.method)
      ? ALLOW
      : deny("forbidden", `method ${show(request.method)} is not allowed by this policy`);
  }
}
