/** The `audit_log` table: one row per NIP-46 decision. Nothing secret is ever written here. */
import type { Selectable } from "kysely";
import type { Db } from "../db.ts";
import { type AuditLogTable, toDate } from "../schema.ts";

/** One decision to record. */
export interface AuditEntry {
  at: Date;
  authorizationId: string | null;
  clientPubkey: string | null;
  method: string;
  eventKind: number | null;
  eventId: string | null;
  decision: "allow" | "deny";
  reason: string | null;
  latencyMs: number | null;
}

/** A stored decision. */
export interface AuditRecord extends AuditEntry {
  id: string;
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

/** Most rows one insert statement carries (SQLite binds at most 32,766 values). */
const INSERT_CHUNK = 500;

/** Writes and reads the audit log. */
export class AuditRepo {
  constructor(private readonly db: Db) {}

  /** Appends a batch of decisions, in one transaction. */
  async insertMany(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (let start = 0; start < entries.length; start += INSERT_CHUNK) {
        const chunk = entries.slice(start, start + INSERT_CHUNK);
        await tx.insertInto("audit_log").values(chunk.map((entry) => ({
          at: entry.at,
          authorization_id: entry.authorizationId,
          client_pubkey: entry.clientPubkey,
          method: entry.method,
          event_kind: entry.eventKind,
          event_id: entry.eventId,
          decision: entry.decision,
          reason: entry.reason,
          latency_ms: entry.latencyMs,
        }))).execute();
      }
    });
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
  };
}
