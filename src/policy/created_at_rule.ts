/**
 * `max_future_seconds`: how far ahead of the server clock a `sign_event` template's `created_at`
 * may be. A far-future replaceable event (profile, follow list, relay list) can never be replaced
 * by a later one, so the bound holds with no policy too.
 */
import { show } from "./problems.ts";
import {
  ALLOW,
  deny,
  type PolicyContext,
  type PolicyRequest,
  type PolicyRule,
  type PolicyVerdict,
} from "./rule.ts";

/** The bound when a policy does not set `max_future_seconds`, in seconds: 15 minutes. */
export const DEFAULT_MAX_FUTURE_SECONDS = 900;
/** The largest `max_future_seconds` a policy may set, in seconds: 365 days. */
export const MAX_FUTURE_SECONDS_LIMIT = 31_536_000;

/**
 * Denies a `sign_event` whose `createdAt` is more than `maxSeconds` after `ctx.now` (compared in
 * whole seconds, so `created_at = floor(now / 1000) + maxSeconds` is allowed), and one whose
 * `createdAt` is not a non-negative integer. A request without `createdAt` is not checked here.
 */
export class FutureCreatedAtRule implements PolicyRule {
  readonly #maxSeconds: number;

  constructor(maxSeconds: number = DEFAULT_MAX_FUTURE_SECONDS) {
    this.#maxSeconds = maxSeconds;
  }

  /** Denies a created_at too far in the future; allows other methods. */
  check(request: PolicyRequest, ctx: PolicyContext): PolicyVerdict {
    const createdAt = request.createdAt;
    if (request.method !== "sign_event" || createdAt === undefined) return ALLOW;
    if (!Number.isSafeInteger(createdAt) || createdAt < 0) {
      return deny(
        "invalid",
        `sign_event needs created_at as a non-negative integer, got ${show(createdAt)}`,
      );
    }
    const ahead = createdAt - Math.floor(ctx.now / 1000);
    if (ahead <= this.#maxSeconds) return ALLOW;
    return deny(
      "forbidden",
      `created_at is ${ahead} s in the future, the limit is ${this.#maxSeconds} s ` +
        "(max_future_seconds)",
    );
  }
}
