/**
 * `GET /api/audit`: read the audit log, oldest first. Query: `authorization` (uuid), `since`
 * (ISO time, or a duration back from now like `30m`, `12h`, `7d`), `after_id` (for following the
 * log), `limit` (1–1000, default 100). Rows carry decisions and reasons, never secrets.
 */
import { Hono } from "hono";
import type { AuditRecord } from "../db/repos/audit.ts";
import { badField, quote } from "./errors.ts";
import { parseExpiresIn, parseUuidParam } from "./fields.ts";
import type { AppEnv } from "./types.ts";
import { iso } from "./views.ts";

/** The audit route, to mount at `/api/audit`. */
export function auditRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.get("/", async (c) => {
    const query = c.req.query();
    const known = new Set(["authorization", "since", "after_id", "limit"]);
    const unknown = Object.keys(query).find((name) => !known.has(name));
    if (unknown) throw badField(unknown, "unknown query parameter");
    const entries = await c.var.repos.audit.query({
      authorizationId: query.authorization === undefined
        ? undefined
        : parseUuidParam(query.authorization, "authorization"),
      since: query.since === undefined ? undefined : parseSince(query.since, Date.now()),
      afterId: query.after_id === undefined ? undefined : parseAfterId(query.after_id),
      limit: query.limit === undefined ? 100 : parseLimit(query.limit),
    });
    return c.json({ entries: entries.map(auditView) });
  });
  return routes;
}

function parseSince(value: string, nowMs: number): Date {
  if (/^\d+[smhdw]?$/i.test(value.trim())) {
    let seconds: number | null;
    try {
      seconds = parseExpiresIn(value);
    } catch {
      seconds = null;
    }
    if (seconds !== null) return new Date(nowMs - seconds * 1000);
  }
  const time = Date.parse(value);
  if (Number.isNaN(time)) {
    throw badField("since", `${quote(value)} is neither an ISO time nor a duration like 30m`);
  }
  return new Date(time);
}

function parseAfterId(value: string): string {
  if (!/^\d{1,18}$/.test(value)) throw badField("after_id", `${quote(value)} is not a row id`);
  return value;
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1 || limit > 1000) {
    throw badField("limit", `${quote(value)} is not a whole number from 1 to 1000`);
  }
  return limit;
}

function auditView(row: AuditRecord) {
  return {
    id: row.id,
    at: iso(row.at),
    authorization_id: row.authorizationId,
    client_pubkey: row.clientPubkey,
    method: row.method,
    event_kind: row.eventKind,
    event_id: row.eventId,
    decision: row.decision,
    reason: row.reason,
    latency_ms: row.latencyMs,
  };
}
