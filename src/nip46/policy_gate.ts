/**
 * Applies each authorization's policy to a request. Compiled policies (which hold rate-limit
 * buckets) are cached per authorization and rebuilt when the authorization object is replaced —
 * a policy change reaches the listener as an `upsert`, so the next request sees the new rules.
 */
import type { ActiveAuthorization } from "../domain/authorization.ts";
import { type CompiledPolicy, compilePolicy } from "../policy/compile.ts";
import type { PolicyRequest } from "../policy/rule.ts";

/** Decides whether a request may proceed: undefined to allow, else the reason to send back. */
export class PolicyGate {
  readonly #compiled = new WeakMap<ActiveAuthorization, CompiledPolicy>();
  readonly #byId = new Map<string, { policy: unknown; compiled: CompiledPolicy }>();
  readonly #now: () => number;

  constructor(opts: {
    /** Clock in ms, for rate limits. Default `Date.now`. */
    now?: () => number;
  } = {}) {
    this.#now = opts.now ?? Date.now;
  }

  /** The denial reason for `request` under `authorization`'s policy, or undefined. */
  check(authorization: ActiveAuthorization, request: PolicyRequest): string | undefined {
    const verdict = this.#policyOf(authorization).check(request, { now: this.#now() });
    return verdict.allow ? undefined : verdict.reason;
  }

  #policyOf(authorization: ActiveAuthorization): CompiledPolicy {
    let compiled = this.#compiled.get(authorization);
    if (compiled) return compiled;
    // Keep rate-limit state across client-list updates as long as the policy itself is the same.
    const cached = this.#byId.get(authorization.id);
    compiled = cached && samePolicy(cached.policy, authorization.policy)
      ? cached.compiled
      : compilePolicy(authorization.policy);
    this.#byId.set(authorization.id, { policy: authorization.policy, compiled });
    this.#compiled.set(authorization, compiled);
    return compiled;
  }

  /** Forgets a removed authorization's compiled policy. */
  forget(authorizationId: string): void {
    this.#byId.delete(authorizationId);
  }
}

function samePolicy(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
