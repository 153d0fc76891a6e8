/**
 * A policy's rate limits across instances. Each instance still charges its own buckets (the
 * policy gate, in memory); with `--cluster` a request that passes them is also charged to the
 * same buckets in the database (`rate_buckets`), which every instance shares — so a client that
 * spreads its requests over the instances (own relay, HTTP signing) gets no more than the policy
 * allows. A local bucket only ever counts part of what the shared one counts, so it never denies
 * what the shared one would allow. Policies without rate limits cost no query.
 */
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { SharedLimits } from "../nip46/decide.ts";
import { errorReason } from "../nip46/protocol.ts";
import type { PolicyDocument, RateLimit } from "../policy/document.ts";
import type { ClusterStore, SharedBucket } from "./store.ts";

/** Charges the policy's buckets in the database (see the module doc). */
export class DatabaseRateLimits implements SharedLimits {
  readonly #store: Pick<ClusterStore, "take">;

  constructor(store: Pick<ClusterStore, "take">) {
    this.#store = store;
  }

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
    const refused = await this.#store.take(buckets);
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
