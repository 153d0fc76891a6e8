/**
 * The request path's tables, for `store.ts`: request claims, the shared token buckets (policy rate
 * limits, password hashing budgets) and the shared login failures, and their pruning. Each
 * function runs on the client it is given (the store's request-path connections).
 */
import type postgres from "postgres";
import type { BackoffLimit } from "../accounts/backoff.ts";
import { sha256Hex } from "../util/hex.ts";

/** A token bucket to charge: its key and its shape. */
export interface SharedBucket {
  key: string;
  perMinute: number;
  burst: number;
}

/** Rows one prune statement deletes at most. */
export const PRUNE_BATCH = 5_000;

/**
 * Claims the answer to one request for `instanceId`, for `ttlMs`: true when this call made the
 * claim, took over one that had expired, or holds it already (this instance never answered a
 * request it claimed twice: its own duplicates stop before the claim, and a claim retried is
 * one whose first try timed out or was answered `overloaded:`); false when another instance's
 * claim stands.
 */
export async function claimRequest(
  sql: postgres.Sql,
  request: { bunkerPubkey: string; clientPubkey: string; requestId: string },
  instanceId: string,
  ttlMs: number,
): Promise<boolean> {
  // The id is the client's text: kept as its digest, so any text fits and none reaches a log.
  const requestHash = await sha256Hex(request.requestId);
  const rows = await sql`insert into request_claims as c
      (bunker_pubkey, client_pubkey, request_hash, instance_id, expires_at)
    values (${request.bunkerPubkey}, ${request.clientPubkey}, ${requestHash},
      ${instanceId}, now() + ${ttlMs} * interval '1 millisecond')
    on conflict (bunker_pubkey, client_pubkey, request_hash) do update
      set instance_id = excluded.instance_id, expires_at = excluded.expires_at
      where c.expires_at < now() or c.instance_id = excluded.instance_id
    returning 1 as claimed`;
  return rows.length > 0;
}

/**
 * Takes one token from each of `buckets`, all or none (a refusal drains nothing). Resolves to
 * undefined when taken, else the first empty bucket's key and the ms until it holds a token.
 */
export async function takeTokens(
  sql: postgres.Sql,
  buckets: readonly SharedBucket[],
): Promise<{ key: string; waitMs: number } | undefined> {
  if (buckets.length === 0) return undefined;
  try {
    await sql.begin(async (tx) => {
      for (const bucket of buckets) {
        const waitMs = await takeIn(tx, bucket);
        if (waitMs > 0) throw new EmptyBucket(bucket.key, waitMs);
      }
    });
    return undefined;
  } catch (error: unknown) {
    if (!(error instanceof EmptyBucket)) throw error;
    return { key: error.key, waitMs: error.waitMs };
  }
}

/** Takes one token from `bucket` within `tx`: 0, or the ms until it holds one (nothing taken). */
async function takeIn(tx: postgres.TransactionSql, bucket: SharedBucket): Promise<number> {
  const { key, perMinute, burst } = bucket;
  // The statement's own clock (not the transaction's), never behind the last write: a
  // transaction that began before another's write must not see time run backwards.
  const at = tx`greatest(clock_timestamp(), b.updated_at)`;
  const refilled = tx`least(${burst}::real,
    b.tokens + extract(epoch from ${at} - b.updated_at)::real * ${perMinute}::real / 60)`;
  // When the bucket is full again: from then on the row is the same as none.
  const fullAt = tx`${at} + (${burst}::real - (${refilled} - 1)) * 60 / ${perMinute}::real
    * interval '1 second'`;
  const taken = await tx`insert into rate_buckets as b (key, tokens, updated_at, full_at)
      values (${key}, ${burst - 1}, clock_timestamp(),
        clock_timestamp() + 60 / ${perMinute}::real * interval '1 second')
    on conflict (key) do update set tokens = ${refilled} - 1, updated_at = ${at},
      full_at = ${fullAt}
      where ${refilled} >= 1
    returning tokens`;
  if (taken.length > 0) return 0;
  const [row] = await tx`select least(${bucket.burst}::real, tokens +
      extract(epoch from greatest(clock_timestamp(), updated_at) - updated_at)::real
      * ${bucket.perMinute}::real / 60) as tokens
    from rate_buckets where key = ${bucket.key}`;
  const missing = 1 - Number(row?.tokens ?? 1);
  return Math.max(1, Math.ceil(missing * 60_000 / bucket.perMinute));
}

/**
 * Counts one attempt against each of `keys` (failed logins or registrations, counted before the
 * password is hashed) and takes a token from `hashing`, all or none, in one transaction: refused
 * when a key is still waiting out its backoff (`failures`) or the bucket is empty (`hashing`).
 * The rule is the in-memory throttle's (`src/accounts/backoff.ts`), on the database's clock.
 */
export async function countAttempt(
  sql: postgres.Sql,
  keys: readonly { key: string; limit: BackoffLimit }[],
  hashing: SharedBucket,
): Promise<{ reason: "failures" | "hashing"; waitMs: number } | undefined> {
  try {
    await sql.begin(async (tx) => {
      const names = keys.map(({ key }) => key);
      const rows = await tx`select key, failures,
          extract(epoch from clock_timestamp() - last_at) * 1000 as ago_ms
        from login_failures where key in ${tx(names)} for update`;
      let waitMs = 0;
      for (const row of rows) {
        const limit = keys.find(({ key }) => key === row.key)!.limit;
        const ago = Number(row.ago_ms);
        if (ago >= limit.forgetMs) continue;
        waitMs = Math.max(waitMs, backoffMs(Number(row.failures), limit) - ago);
      }
      if (waitMs > 0) throw new Refused("failures", waitMs);
      const hashWait = await takeIn(tx, hashing);
      if (hashWait > 0) throw new Refused("hashing", hashWait);
      for (const { key, limit } of keys) {
        await tx`insert into login_failures as f (key, failures, last_at, forget_at)
            values (${key}, 1, clock_timestamp(),
              clock_timestamp() + ${limit.forgetMs} * interval '1 millisecond')
          on conflict (key) do update set
            failures = case when f.forget_at <= clock_timestamp() then 1
              else f.failures + 1 end,
            last_at = clock_timestamp(), forget_at = excluded.forget_at`;
      }
    });
    return undefined;
  } catch (error: unknown) {
    if (error instanceof Refused) {
      return { reason: error.reason, waitMs: Math.ceil(error.waitMs) };
    }
    throw error;
  }
}

/**
 * An attempt counted by {@link countAttempt} proved good: `forget` keys start over, `refund`
 * keys get back the one failure counted in advance.
 */
export async function forgiveAttempt(
  sql: postgres.Sql,
  forget: readonly string[],
  refund: readonly string[],
): Promise<void> {
  await sql.begin(async (tx) => {
    if (forget.length > 0) await tx`delete from login_failures where key in ${tx(forget)}`;
    if (refund.length > 0) {
      await tx`delete from login_failures where key in ${tx(refund)} and failures <= 1`;
      await tx`update login_failures set failures = failures - 1 where key in ${tx(refund)}`;
    }
  });
}

/**
 * Deletes expired claims and buckets full again, in batches of {@link PRUNE_BATCH} until a
 * batch comes back short or `budgetMs` has passed; returns how many rows went.
 */
export async function pruneExpired(sql: postgres.Sql, budgetMs: number): Promise<number> {
  const until = performance.now() + budgetMs;
  let deleted = 0;
  const tables = {
    request_claims: "expires_at",
    rate_buckets: "full_at",
    login_failures: "forget_at",
  };
  for (const [table, column] of Object.entries(tables)) {
    for (;;) {
      const gone = await sql`delete from ${sql(table)} where ctid in (
        select ctid from ${sql(table)} where ${sql(column)} < now()
        limit ${PRUNE_BATCH})`;
      deleted += gone.count;
      if (gone.count < PRUNE_BATCH || performance.now() >= until) break;
    }
  }
  return deleted;
}

/** The wait of a {@link BackoffLimit} after `failures` failures, from the last one, in ms. */
function backoffMs(failures: number, limit: BackoffLimit): number {
  const over = failures - limit.free;
  return over > 0 ? Math.min(limit.maxMs, limit.baseMs * 2 ** (over - 1)) : 0;
}

class Refused extends Error {
  constructor(readonly reason: "failures" | "hashing", readonly waitMs: number) {
    super("refused");
  }
}

class EmptyBucket extends Error {
  constructor(readonly key: string, readonly waitMs: number) {
    super("empty bucket");
  }
}
