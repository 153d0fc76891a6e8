/**
 * The cluster's tables (`migrations/postgres/0006_cluster.sql`) and its two notification channels,
 * over postgres.js clients of the cluster's own beside the one kysely uses: one connection for the
 * membership, one for change notices, six for the request path's claims and buckets (so neither a
 * busy request path nor a burst of notices delays a heartbeat), and the connection postgres.js
 * keeps for LISTEN.
 *
 * Every time that decides who is alive is the database's `now()`, so instances need no common
 * clock; only the fence (see `membership.ts`) uses the local clock, measured from before the
 * renewal was sent, which can only make an instance stop earlier than the others assume.
 */
import type postgres from "postgres";
import type { BackoffLimit } from "../accounts/backoff.ts";
import type { Log } from "../log.ts";
import { sha256Hex } from "../util/hex.ts";
import { sanitizeText } from "../db/sanitize.ts";

/** Channel of membership changes: joins, acknowledgements, hand-overs, expiries. */
export const MEMBERSHIP_CHANNEL = "keycast_cluster";
/** Channel of authorization changes (see `bridge.ts`). */
export const AUTHORIZATIONS_CHANNEL = "keycast_authorizations";

/** Who an instance is, as it registers. */
export interface InstanceIdentity {
  /** 32 hex characters, new at every start. */
  id: string;
  /** Where operators can find it: `host:port`. */
  address: string;
  /** The keycast version it runs. */
  version: string;
}

/** One row of `instances`. */
export interface InstanceRow extends InstanceIdentity {
  startedAt: Date;
  heartbeatAt: Date;
  leaseUntil: Date;
  /** The membership generation whose assignment it serves. */
  view: number;
  /** Handing its bunkers over before it stops. */
  leaving: boolean;
}

/** What one heartbeat saw, in one transaction. */
export interface Heartbeat {
  /** The membership generation after this heartbeat. */
  generation: number;
  /** How many change notices the instances have sent, ever (see `bridge.ts`). */
  changes: number;
  /** Every live instance, this one included. */
  instances: InstanceRow[];
  /** This heartbeat registered the instance again: its row had expired and was deleted. */
  rejoined: boolean;
  /** Instances whose lease had passed, deleted by this heartbeat. */
  expired: string[];
}

/** A token bucket to charge: its key and its shape. */
export interface SharedBucket {
  key: string;
  perMinute: number;
  burst: number;
}

/** The cluster's database side. */
export class ClusterStore implements AsyncDisposable {
  /** Membership: never queued behind claims or notices. */
  readonly #sql: postgres.Sql;
  /** Change notices, and LISTEN. */
  readonly #notices: postgres.Sql;
  /** The request path: claims and rate buckets; and pruning. */
  readonly #work: postgres.Sql;
  readonly #log: Log;

  private constructor(
    clients: { sql: postgres.Sql; notices: postgres.Sql; work: postgres.Sql },
    log: Log,
  ) {
    this.#sql = clients.sql;
    this.#notices = clients.notices;
    this.#work = clients.work;
    this.#log = log;
  }

  /** Opens the cluster's client for the PostgreSQL database at `url` (connects lazily). */
  static async open(url: string, log: Log): Promise<ClusterStore> {
    // Loaded only with PostgreSQL, like the database driver itself.
    const { default: connect } = await import("postgres");
    const client = (max: number, name: string) =>
      connect(url, {
        max,
        idle_timeout: 0,
        connect_timeout: 10,
        // postgres.js waits up to 20 s between reconnects once a few have failed (3^n / 100 s):
        // after an outage the lease and the claims would stay down that long, the instance
        // fenced, or back in the cluster but failing every claim. Short, bounded waits instead.
        backoff: reconnectBackoff,
        onnotice: () => {},
        connection: { application_name: name },
      });
    return new ClusterStore({
      sql: client(1, "keycast-cluster"),
      notices: client(1, "keycast-notices"),
      work: client(6, "keycast-claims"),
    }, log);
  }

  /** Registers `self` with a lease of `leaseMs` and raises the generation. */
  async join(self: InstanceIdentity, leaseMs: number): Promise<void> {
    await this.#sql.begin(async (tx) => {
      await this.#insert(tx, self, leaseMs);
      await this.#raise(tx, self.id, "join");
    });
  }

  /**
   * Renews `self`'s lease (registering it again if its row was deleted), deletes instances whose
   * lease has passed, and reads the membership — one transaction.
   */
  async heartbeat(self: InstanceIdentity, leaseMs: number): Promise<Heartbeat> {
    return await this.#sql.begin(async (tx) => {
      // A heartbeat the instance has stopped waiting for must not renew the lease later on.
      await tx`select set_config('statement_timeout', ${String(Math.ceil(leaseMs / 3))}, true)`;
      const renewed = await tx`update instances set heartbeat_at = now(),
          lease_until = now() + ${leaseMs} * interval '1 millisecond'
        where id = ${self.id} returning id`;
      const rejoined = renewed.length === 0;
      if (rejoined) await this.#insert(tx, self, leaseMs);
      const gone = await tx`delete from instances where lease_until < now() returning id`;
      const expired = gone.map((row) => String(row.id));
      if (rejoined || expired.length > 0) {
        await this.#raise(tx, self.id, rejoined ? "join" : "expire");
      }
      const [state] = await tx`select generation, changes from cluster_state where id = 1`;
      const rows = await tx`select * from instances order by started_at, id`;
      return {
        generation: Number(state?.generation ?? 0),
        changes: Number(state?.changes ?? 0),
        instances: rows.map(toInstance),
        rejoined,
        expired,
      };
    });
  }

  /** Records that `id` serves the assignment of `generation` (never lowers it). */
  async acknowledge(id: string, generation: number): Promise<void> {
    const updated = await this.#sql`update instances set view = ${generation}
      where id = ${id} and view < ${generation} returning id`;
    if (updated.length > 0) await this.#notify(MEMBERSHIP_CHANNEL, `${id} ack`);
  }

  /** Marks `id` as handing its bunkers over, and raises the generation. */
  async markLeaving(id: string): Promise<void> {
    await this.#sql.begin(async (tx) => {
      await tx`update instances set leaving = 1 where id = ${id}`;
      await this.#raise(tx, id, "leave");
    });
  }

  /** Deletes `id`'s row, and raises the generation. */
  async leave(id: string): Promise<void> {
    await this.#sql.begin(async (tx) => {
      const gone = await tx`delete from instances where id = ${id} returning id`;
      if (gone.length > 0) await this.#raise(tx, id, "leave");
    });
  }

  /** Every live instance (lease not passed), oldest first. */
  async instances(): Promise<InstanceRow[]> {
    const rows = await this.#sql`select * from instances where lease_until >= now()
      order by started_at, id`;
    return rows.map(toInstance);
  }

  /**
   * Claims the answer to one request for `instanceId`, for `ttlMs`: true when this call made the
   * claim, took over one that had expired, or holds it already (this instance never answered a
   * request it claimed twice: its own duplicates stop before the claim, and a claim retried is
   * one whose first try timed out or was answered `overloaded:`); false when another instance's
   * claim stands.
   */
  async claim(
    request: { bunkerPubkey: string; clientPubkey: string; requestId: string },
    instanceId: string,
    ttlMs: number,
  ): Promise<boolean> {
    // The id is the client's text: kept as its digest, so any text fits and none reaches a log.
    const requestHash = await sha256Hex(request.requestId);
    const rows = await this.#work`insert into request_claims as c
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
  async take(
    buckets: readonly SharedBucket[],
  ): Promise<{ key: string; waitMs: number } | undefined> {
    if (buckets.length === 0) return undefined;
    try {
      await this.#work.begin(async (tx) => {
        for (const bucket of buckets) {
          const waitMs = await this.#takeIn(tx, bucket);
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
  async #takeIn(tx: postgres.TransactionSql, bucket: SharedBucket): Promise<number> {
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
  async countAttempt(
    keys: readonly { key: string; limit: BackoffLimit }[],
    hashing: SharedBucket,
  ): Promise<{ reason: "failures" | "hashing"; waitMs: number } | undefined> {
    try {
      await this.#work.begin(async (tx) => {
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
        const hashWait = await this.#takeIn(tx, hashing);
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
  async forgiveAttempt(forget: readonly string[], refund: readonly string[]): Promise<void> {
    await this.#work.begin(async (tx) => {
      if (forget.length > 0) await tx`delete from login_failures where key in ${tx(forget)}`;
      if (refund.length > 0) {
        await tx`update login_failures set failures = failures - 1
          where key in ${tx(refund)} and failures > 1`;
        await tx`delete from login_failures where key in ${tx(refund)} and failures <= 1`;
      }
    });
  }

  /**
   * Deletes expired claims and buckets full again, in batches of {@link PRUNE_BATCH} until a
   * batch comes back short or `budgetMs` has passed; returns how many rows went.
   */
  async prune(budgetMs: number): Promise<number> {
    const until = performance.now() + budgetMs;
    let deleted = 0;
    const tables = {
      request_claims: "expires_at",
      rate_buckets: "full_at",
      login_failures: "forget_at",
    };
    for (const [table, column] of Object.entries(tables)) {
      for (;;) {
        const gone = await this.#work`delete from ${this.#work(table)} where ctid in (
          select ctid from ${this.#work(table)} where ${this.#work(column)} < now()
          limit ${PRUNE_BATCH})`;
        deleted += gone.count;
        if (gone.count < PRUNE_BATCH || performance.now() >= until) break;
      }
    }
    return deleted;
  }

  /**
   * Listens on `channel`: `onMessage` gets each payload; `onConnect` runs each time the listening
   * connection is (re)established — after a drop, notifications sent meanwhile are lost.
   */
  async listen(
    channel: string,
    onMessage: (payload: string) => void,
    onConnect: () => void,
  ): Promise<void> {
    await this.#notices.listen(channel, onMessage, onConnect);
  }

  /**
   * Sends a change notice on {@link AUTHORIZATIONS_CHANNEL}, numbered: the payload is
   * `<from> <number> <what>`, the number from the `changes` counter raised in the same statement
   * (the heartbeats read it, so an instance that missed a notice can tell).
   */
  async announce(from: string, what: string): Promise<void> {
    await this.#notices`with raised as (
        update cluster_state set changes = changes + 1 where id = 1 returning changes)
      select pg_notify(${AUTHORIZATIONS_CHANNEL}, ${from} || ' ' || raised.changes || ' ' || ${what})
      from raised`;
  }

  async #notify(channel: string, payload: string): Promise<void> {
    await this.#sql`select pg_notify(${channel}, ${payload})`;
  }

  async #insert(tx: postgres.TransactionSql, self: InstanceIdentity, leaseMs: number) {
    await tx`insert into instances (id, address, version, started_at, heartbeat_at, lease_until)
      values (${self.id}, ${printable(self.address, 300)}, ${printable(self.version, 64)}, now(),
        now(), now() + ${leaseMs} * interval '1 millisecond')`;
  }

  /** Raises the generation and tells the others, at commit. */
  async #raise(tx: postgres.TransactionSql, id: string, why: string): Promise<void> {
    await tx`update cluster_state set generation = generation + 1 where id = 1`;
    await tx`select pg_notify(${MEMBERSHIP_CHANNEL}, ${`${id} ${why}`})`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const clients = [this.#sql, this.#notices, this.#work];
    await Promise.all(clients.map((client) => client.end({ timeout: 2 }))).catch(
      (error: unknown) =>
        this.#log({ level: "warn", ns: "cluster", msg: "Cannot close the cluster client", error }),
    );
  }
}

/**
 * `text` as stored and shown by `keycast instances`: the host name comes from the environment, so
 * it passes the one text boundary and loses anything that could steer a terminal.
 */
function printable(text: string, max: number): string {
  // deno-lint-ignore no-control-regex -- removing control characters is the point
  const plain = sanitizeText(text).replace(/[\u0000-\u001f\u007f-\u009f]/g, "").slice(0, max);
  return plain === "" ? "?" : plain;
}

/** Rows one prune statement deletes at most. */
export const PRUNE_BATCH = 5_000;

/** Seconds before reconnect attempt `retries`: 0.1, 0.2, 0.4 … at most 1, with jitter. */
function reconnectBackoff(retries: number): number {
  return (0.5 + Math.random() / 2) * Math.min(0.1 * 2 ** retries, 1);
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

function toInstance(row: postgres.Row): InstanceRow {
  return {
    id: String(row.id),
    address: String(row.address),
    version: String(row.version),
    startedAt: new Date(row.started_at),
    heartbeatAt: new Date(row.heartbeat_at),
    leaseUntil: new Date(row.lease_until),
    view: Number(row.view),
    leaving: Number(row.leaving) === 1,
  };
}
