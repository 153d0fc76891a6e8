/**
 * The one error path of the admin API: services throw {@link ServiceError}s and handlers throw
 * {@link ApiError}s (an `HTTPException`); {@link onError} answers `{"error": "...", "field"?}`
 * with the status of each. Anything else is logged with the
 * request id and answered as a generic 500 that reveals nothing about the internals.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DatabaseUnavailableError } from "../db/db.ts";
import { quote, ServiceError, type ServiceErrorKind } from "../service/errors.ts";
import type { AppEnv } from "./types.ts";

/** Extra details of an {@link ApiError}. */
export interface ApiErrorDetails {
  /** The request field at fault (`"name"`, `"relays[1]"`), echoed as `field`. */
  field?: string;
  /** Every problem found, echoed as `problems` (e.g. all policy document errors). */
  problems?: string[];
  /** Response headers to add, e.g. `WWW-Authenticate`. */
  headers?: Record<string, string>;
}

/** An error with an HTTP status whose message is safe to show to the caller. */
export class ApiError extends HTTPException {
  override name = "ApiError";
  /** The request field at fault, if any. */
  readonly field: string | undefined;
  /** Every problem found, if more than the message says. */
  readonly problems: string[] | undefined;
  /** Response headers to add. */
  readonly headers: Record<string, string> | undefined;

  constructor(status: ContentfulStatusCode, message: string, details: ApiErrorDetails = {}) {
    super(status, { message });
    this.field = details.field;
    this.problems = details.problems;
    this.headers = details.headers;
  }
}

/** The HTTP status of each kind of service error. */
const SERVICE_STATUS: Record<ServiceErrorKind, ContentfulStatusCode> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
  unauthorized: 401,
  forbidden: 403,
  rate_limited: 429,
};

/** The HTTP status a service error answers with (JSON routes and web pages alike). */
export function serviceStatus(error: ServiceError): ContentfulStatusCode {
  return SERVICE_STATUS[error.kind];
}

/** Turns thrown errors into JSON responses (see the module doc). */
export function onError(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof ServiceError) {
    const body: Record<string, unknown> = { error: err.message };
    if (err.field !== undefined) body.field = err.field;
    if (err.problems !== undefined) body.problems = err.problems;
    if (err.retryAfterSeconds !== undefined) {
      c.header("Retry-After", String(err.retryAfterSeconds));
      body.retry_after = err.retryAfterSeconds;
    }
    return c.json(body, SERVICE_STATUS[err.kind]);
  }
  if (err instanceof HTTPException) {
    const body: Record<string, unknown> = { error: err.message || "Request failed" };
    if (err instanceof ApiError) {
      if (err.field !== undefined) body.field = err.field;
      if (err.problems !== undefined) body.problems = err.problems;
      for (const [name, value] of Object.entries(err.headers ?? {})) c.header(name, value);
    }
    return c.json(body, err.status);
  }
  const requestId = requestIdOf(c);
  if (err instanceof DatabaseUnavailableError) {
    c.var.log?.({
      level: "warn",
      ns: "http",
      msg: "Request failed: the database is unavailable",
      requestId,
      method: c.req.method,
      path: c.req.path,
    });
    c.header("Retry-After", "5");
    return c.json(
      { error: "The database is unavailable; retry later", request_id: requestId },
      503,
    );
  }
  c.var.log?.({
    level: "error",
    ns: "http",
    msg: "Request failed with an unexpected error",
    requestId,
    method: c.req.method,
    path: c.req.path,
    error: err,
  });
  return c.json({ error: "Internal server error", request_id: requestId }, 500);
}

/** Answers unknown routes with a JSON 404. */
export function notFound(c: Context<AppEnv>): Response {
  return c.json({ error: `No route for ${c.req.method} ${quote(c.req.path)}` }, 404);
}

function requestIdOf(c: Context<AppEnv>): string | undefined {
  return c.var.requestId;
}
