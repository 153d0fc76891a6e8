/**
 * A policy's rate limits across instances. Each instance still charges its own buckets (the
 * policy gate, in memory); with `--cluster` a request that passes them is also charged to the
 * same buckets in the database (`rate_buckets`), which every instance shares — so a client that
 * spreads its requests over the instances (own relay, HTTP signing) gets no more than the policy
 * allows. A local bucket only ever counts part of what the shared one counts, so it never denies
 * what the shared one would allow. Policies without rate limits cost no query. A charge the
 * database does not answer in time rejects: the request is answered `overloaded:` (fail closed).
 */
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { SharedLimits } from "../nip46/decide.ts";
import { errorReason } from "../nip46/protocol.ts";
import type { PolicyDocument, RateLimit } from "../policy/document.ts";
import { deadline } from "../util/async.ts";
import type { ClusterStore, SharedBucket } from "./store.ts";

/** Default longest wait for the database to charge a request's buckets, in ms. */
export const RATE_LIMIT_TIMEOUT_MS = 2_000;

/** Options of {@link DatabaseRateLimits}. */
export interface DatabaseRateLimitsOptions {
  /** Longest wait for one charge, in ms. Default {@link RATE_LIMIT_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** Charges the policy's buckets in the database (see the module doc). */
export class DatabaseRateLimits implements SharedLimits {
  readonly #store: Pick<ClusterStore, "take">;
  readonly #timeoutMs: number;

  constructor(store: Pick<ClusterStore, "take">, options: DatabaseRateLimitsOptions = {}) {
    this.#store = store;
    this.#timeoutMs = options.timeoutMs ?? RATE_LIMIT_TIMEOUT_MS;
  }

  /**
   * The denial of a request over a shared limit, or undefined; rejects when the database does not
   * answer within the timeout (a stalled database must not hold the request).
   */
  async charge(
    authorization: ActiveAuthorization,
    clientPubkey: string,
    method: string,
  ): Promise<string | undefined> {
    const limits = (authorization.policy as PolicyDocument | null)?.rate_limits;
    if (!limits) return undefined;
    const buckets: (SharedBucket & { what: string })[] = [];
    if (limits.per_client) {
      buckets.push({
        ...shape(limits.per_client),
        key: `${authorization.id}:c:${clientPubkey}`,
        what: "requests",
      });
    }
    const perMethod = limits.per_method?.[method];
    if (perMethod) {
      buckets.push({
        ...shape(perMethod),
        key: `${authorization.id}:m:${clientPubkey}:${method}`,
        what: `${method} requests`,
      });
    }
    if (buckets.length === 0) return undefined;
    const refused = await deadline(this.#store.take(buckets), this.#timeoutMs);
    if (!refused) return undefined;
    const bucket = buckets.find((b) => b.key === refused.key) ?? buckets[0]!;
    const seconds = Math.max(1, Math.ceil(refused.waitMs / 1000));
    return errorReason(
      "rate-limited",
      `over ${bucket.perMinute} ${bucket.what} a minute from this client; retry in ${seconds} s`,
    );
  }
}

function shape(limit: RateLimit): { perMinute: number; burst: number } {
  return { perMinute: limit.per_minute, burst: limit.burst ?? limit.per_minute };
}
