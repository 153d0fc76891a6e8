/**
 * `GET /api/audit`: read the audit log, oldest first. Query: `authorization` (uuid), `since`
 * (ISO time, or a duration back from now like `30m`, `12h`, `7d`), `after_id` (for following the
 * log), `limit` (1–1000, default 100). Rows carry decisions and reasons, never secrets, and how
 * the request came (`transport`: `nip46` or `http`).
 */
import { Hono } from "hono";
import * as v from "valibot";
import type { AuditRecord } from "../db/repos/audit.ts";
import { isUuid, parseDuration } from "../domain/fields.ts";
import { queryAudit } from "../service/audit.ts";
import { quote } from "../service/errors.ts";
import { ApiError } from "./errors.ts";
import { fields, queryParams } from "./schemas.ts";
import type { AppEnv } from "./types.ts";
import { iso } from "./views.ts";

const AuditQuery = fields({
  authorization: v.optional(
    v.pipe(
      v.string(),
      v.check(
        (id: string) => isUuid(id),
        (issue) => `${quote(issue.input)} is not an authorization id (a UUID)`,
      ),
      v.toLowerCase(),
    ),
  ),
  since: v.optional(v.string()),
  after_id: v.optional(
    v.pipe(v.string(), v.regex(/^\d{1,18}$/, (issue) => `${quote(issue.input)} is not a row id`)),
  ),
  limit: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,4}$/, (issue) => `${quote(issue.input)} is not a whole number from 1 to 1000`),
      v.transform(Number),
      v.minValue(1, "must be a whole number from 1 to 1000"),
      v.maxValue(1000, "must be a whole number from 1 to 1000"),
    ),
  ),
});

/** The audit route, to mount at `/api/audit`. */
export function auditRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>().get("/", queryParams(AuditQuery), async (c) => {
    const query = c.req.valid("query");
    const entries = await queryAudit(c.var.services, {
      authorizationId: query.authorization,
      since: query.since === undefined ? undefined : parseSince(query.since, c.var.services.now()),
      afterId: query.after_id,
      limit: query.limit ?? 100,
    });
    return c.json({ entries: entries.map(auditView) });
  });
}

/** Earliest time a date query parameter may name: 2000-01-01T00:00:00Z, in ms. */
const EARLIEST_QUERY_TIME = Date.UTC(2000, 0, 1);
/** Latest time a date query parameter may name: the end of year 9999 (UTC), in ms. */
const LATEST_QUERY_TIME = Date.UTC(10_000, 0, 1) - 1;

/**
 * An ISO time, or a duration back from `nowMs`, within the years 2000 to 9999: a time the
 * databases cannot store (JavaScript reaches year -271821, PostgreSQL's timestamptz year -4713)
 * is a 400 naming the field, never a failed statement.
 */
function parseSince(value: string, nowMs: number): Date {
  const seconds = /^\d+[smhdw]?$/i.test(value.trim()) ? parseDuration(value) : undefined;
  const time = seconds !== undefined ? nowMs - seconds * 1000 : Date.parse(value);
  if (Number.isNaN(time)) {
    throw new ApiError(
      400,
      `since: ${quote(value)} is neither an ISO time nor a duration like 30m`,
      { field: "since" },
    );
  }
  if (time < EARLIEST_QUERY_TIME || time > LATEST_QUERY_TIME) {
    throw new ApiError(400, `since: ${quote(value)} is not a time from the year 2000 to 9999`, {
      field: "since",
    });
  }
  return new Date(time);
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
    transport: row.transport,
  };
}
