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
import {
  claimRequest,
  countAttempt,
  forgiveAttempt,
  pruneExpired,
  type SharedBucket,
  takeTokens,
} from "./limits_sql.ts";
import type { Log } from "../log.ts";
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

export { PRUNE_BATCH, type SharedBucket } from "./limits_sql.ts";

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

  /** See {@link claimRequest}. */
  claim(
    request: { bunkerPubkey: string; clientPubkey: string; requestId: string },
    instanceId: string,
    ttlMs: number,
  ): Promise<boolean> {
    return claimRequest(this.#work, request, instanceId, ttlMs);
  }

  /** See {@link takeTokens}. */
  take(buckets: readonly SharedBucket[]): Promise<{ key: string; waitMs: number } | undefined> {
    return takeTokens(this.#work, buckets);
  }

  /** See {@link countAttempt}. */
  countAttempt(
    keys: readonly { key: string; limit: BackoffLimit }[],
    hashing: SharedBucket,
  ): Promise<{ reason: "failures" | "hashing"; waitMs: number } | undefined> {
    return countAttempt(this.#work, keys, hashing);
  }

  /** See {@link forgiveAttempt}. */
  forgiveAttempt(forget: readonly string[], refund: readonly string[]): Promise<void> {
    return forgiveAttempt(this.#work, forget, refund);
  }

  /** See {@link pruneExpired}. */
  prune(budgetMs: number): Promise<number> {
    return pruneExpired(this.#work, budgetMs);
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

/** Seconds before reconnect attempt `retries`: 0.1, 0.2, 0.4 … at most 1, with jitter. */
function reconnectBackoff(retries: number): number {
  return (0.5 + Math.random() / 2) * Math.min(0.1 * 2 ** retries, 1);
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
