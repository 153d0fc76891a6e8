/**
 * The `audit_log` table: one row per signing decision, over NIP-46 or HTTP (`transport`). Nothing
 * secret is ever written here.
 */
import { type Selectable, sql } from "kysely";
import type { Db } from "../db.ts";
import { safeJsonStringify } from "../sanitize.ts";
import { type AuditLogTable, toDate } from "../schema.ts";

/** How a request reached the signer: over relays (NIP-46) or `POST /api/nostr`. */
export type AuditTransport = "nip46" | "http";

/** One decision to record. */
export interface AuditEntry {
  at: Date;
  authorizationId: string | null;
  /** The client's pubkey; over HTTP, the grant's pseudo-client id `http:<grant id>`. */
  clientPubkey: string | null;
  method: string;
  eventKind: number | null;
  eventId: string | null;
  decision: "allow" | "deny";
  reason: string | null;
  latencyMs: number | null;
  /** How the request came. Default `nip46`. */
  transport?: AuditTransport;
}

/** A stored decision. */
export interface AuditRecord extends AuditEntry {
  id: string;
  transport: AuditTransport;
}

/** Filters for {@link AuditRepo.query}. */
export interface AuditQuery {
  authorizationId?: string;
  /** Only rows at or after this time. */
  since?: Date;
  /** Only rows with an id greater than this (for `--follow`). */
  afterId?: string;
  /** At most this many rows (1–1000). Default 100. */
  limit?: number;
}

/** Writes and reads the audit log. */
export class AuditRepo {
  constructor(private readonly db: Db) {}

  /**
   * Appends a batch of decisions in one statement whose single parameter is the batch as JSON
   * (unpacked by `json_to_recordset` on PostgreSQL, `json_each` on SQLite): binding nine values
   * per row would cost the main thread milliseconds per batch in the driver.
   */
  async insertMany(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const batch = safeJsonStringify(entries.map((entry) => ({
      at: entry.at.getTime(),
      authorization_id: entry.authorizationId,
      client_pubkey: entry.clientPubkey,
      method: entry.method,
      event_kind: entry.eventKind,
      event_id: entry.eventId,
      decision: entry.decision,
      reason: entry.reason,
      latency_ms: entry.latencyMs,
      transport: entry.transport ?? "nip46",
    })));
    const statement = this.db.kind === "postgres"
      ? sql`insert into audit_log (at, authorization_id, client_pubkey, method, event_kind,
              event_id, decision, reason, latency_ms, transport)
            select to_timestamp(r.at / 1000.0), r.authorization_id, r.client_pubkey, r.method,
                   r.event_kind, r.event_id, r.decision, r.reason, r.latency_ms, r.transport
              from json_to_recordset(cast(cast(${batch} as text) as json)) as r(at bigint,
                   authorization_id uuid, client_pubkey text, method text, event_kind integer,
                   event_id text, decision text, reason text, latency_ms real, transport text)`
      : sql`insert into audit_log (at, authorization_id, client_pubkey, method, event_kind,
              event_id, decision, reason, latency_ms, transport)
            select value ->> 'at', value ->> 'authorization_id', value ->> 'client_pubkey',
                   value ->> 'method', value ->> 'event_kind', value ->> 'event_id',
                   value ->> 'decision', value ->> 'reason', value ->> 'latency_ms',
                   value ->> 'transport'
              from json_each(${batch})`;
    await statement.execute(this.db.kysely);
  }

  /** Deletes up to `limit` rows older than `before`, oldest first; returns how many. */
  async pruneBefore(before: Date, limit = 1_000): Promise<number> {
    const oldest = this.db.kysely.selectFrom("audit_log").select("id")
      .where("at", "<", before).orderBy("id").limit(limit);
    const result = await this.db.kysely.deleteFrom("audit_log").where("id", "in", oldest)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Decisions matching `filter`, oldest first. */
  async query(filter: AuditQuery = {}): Promise<AuditRecord[]> {
    const { authorizationId, since, afterId } = filter;
    let query = this.db.kysely.selectFrom("audit_log").selectAll();
    if (authorizationId !== undefined) {
      query = query.where("authorization_id", "=", authorizationId);
    }
    if (since !== undefined) query = query.where("at", ">=", since);
    if (afterId !== undefined) query = query.where("id", ">", afterId);
    const rows = await query.orderBy("id")
      .limit(Math.min(Math.max(filter.limit ?? 100, 1), 1000))
      .execute();
    return rows.map(toRecord);
  }

  /**
   * The latest decisions, newest first: of one authorization, or of every authorization of the
   * keys `accountId` holds; only `decision`'s when given.
   */
  async latest(
    filter: {
      authorizationId?: string;
      accountId?: string;
      decision?: "allow" | "deny";
      limit?: number;
    },
  ): Promise<AuditRecord[]> {
    const rows = await this.db.kysely.selectFrom("audit_log as l").selectAll("l")
      .$if(filter.decision !== undefined, (q) => q.where("l.decision", "=", filter.decision!))
      .$if(
        filter.authorizationId !== undefined,
        (q) => q.where("l.authorization_id", "=", filter.authorizationId!),
      )
      .$if(
        filter.accountId !== undefined,
        (q) =>
          q.where(
            "l.authorization_id",
            "in",
            (eb) =>
              eb.selectFrom("authorizations as a").innerJoin("keys as k", "k.id", "a.key_id")
                .select("a.id").where("k.account_id", "=", filter.accountId!),
          ),
      )
      .orderBy("l.id", "desc")
      .limit(Math.min(Math.max(filter.limit ?? 50, 1), 1000))
      .execute();
    return rows.map(toRecord);
  }

  /** Requests answered and the time of the last one, per authorization id of `ids`. */
  async activity(ids: readonly string[]): Promise<Map<string, Activity>> {
    const out = new Map<string, Activity>();
    if (ids.length === 0) return out;
    const rows = await this.db.kysely.selectFrom("audit_log")
      .select((eb) => [
        "authorization_id",
        eb.fn.countAll<number | string>().as("requests"),
        eb.fn.max("at").as("last_at"),
      ])
      .where("authorization_id", "in", [...ids])
      .groupBy("authorization_id").execute();
    for (const row of rows) {
      if (row.authorization_id === null) continue;
      out.set(row.authorization_id, {
        requests: Number(row.requests),
        lastAt: row.last_at === null ? null : toDate(row.last_at as Date | number),
      });
    }
    return out;
  }
}

/** How much an authorization was used, from its audit rows. */
export interface Activity {
  requests: number;
  lastAt: Date | null;
}

function toRecord(row: Selectable<AuditLogTable>): AuditRecord {
  return {
    id: String(row.id),
    at: toDate(row.at),
    authorizationId: row.authorization_id,
    clientPubkey: row.client_pubkey,
    method: row.method,
    eventKind: row.event_kind,
    eventId: row.event_id,
    decision: row.decision,
    reason: row.reason,
    latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
    transport: row.transport,
  };
}
