/** The `audit_log` table: one row per NIP-46 decision. Nothing secret is ever written here. */
import type { Queryable } from "../db.ts";

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

/** Writes and reads the audit log. */
export class AuditRepo {
  constructor(private readonly db: Queryable) {}

  /** Appends a batch of decisions in one statement. */
  async insertMany(entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db.query(
      `insert into audit_log (at, authorization_id, client_pubkey, method, event_kind, event_id,
         decision, reason, latency_ms)
       select at, authorization_id, client_pubkey, method, event_kind, event_id, decision, reason,
              latency_ms
         from json_to_recordset($1::text::json) as r(at timestamptz, authorization_id uuid,
              client_pubkey text, method text, event_kind int, event_id text, decision text,
              reason text, latency_ms real)`,
      [JSON.stringify(entries.map((e) => ({
        at: e.at.toISOString(),
        authorization_id: e.authorizationId,
        client_pubkey: e.clientPubkey,
        method: e.method,
        event_kind: e.eventKind,
        event_id: e.eventId,
        decision: e.decision,
        reason: e.reason,
        latency_ms: e.latencyMs,
      })))],
    );
  }

  /** Decisions matching `filter`, oldest first. */
  async query(filter: AuditQuery = {}): Promise<AuditRecord[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (filter.authorizationId) {
      params.push(filter.authorizationId);
      conditions.push(`authorization_id = $${params.length}::uuid`);
    }
    if (filter.since) {
      params.push(filter.since.toISOString());
      conditions.push(`at >= $${params.length}::timestamptz`);
    }
    if (filter.afterId) {
      params.push(filter.afterId);
      conditions.push(`id > $${params.length}::bigint`);
    }
    params.push(Math.min(Math.max(filter.limit ?? 100, 1), 1000));
    const where = conditions.length ? `where ${conditions.join(" and ")}` : "";
    const rows = await this.db.query(
      `select id::text, at, authorization_id::text, client_pubkey, method, event_kind, event_id,
              decision, reason, latency_ms
         from audit_log ${where} order by audit_log.id limit $${params.length}::int`,
      params,
    );
    return rows.map((row: Record<string, unknown>) => ({
      id: row.id as string,
      at: row.at as Date,
      authorizationId: (row.authorization_id as string | null) ?? null,
      clientPubkey: (row.client_pubkey as string | null) ?? null,
      method: row.method as string,
      eventKind: (row.event_kind as number | null) ?? null,
      eventId: (row.event_id as string | null) ?? null,
      decision: row.decision as "allow" | "deny",
      reason: (row.reason as string | null) ?? null,
      latencyMs: row.latency_ms === null ? null : Number(row.latency_ms),
    }));
  }
}
