/**
 * The typed errors of the admin services. Each carries a message that is safe to show to the
 * caller (never a secret) and, for bad input, the field at fault; the HTTP layer maps the kind to
 * a status, the web pages show the message next to the field.
 */

/** What went wrong, independent of transport. */
export type ServiceErrorKind =
  | "invalid"
  | "not_found"
  | "conflict"
  | "unavailable"
  | "unauthorized"
  | "forbidden"
  | "rate_limited";

/** Details of a {@link ServiceError}. */
export interface ServiceErrorDetails {
  /** The input field at fault (`"name"`, `"relays[1]"`). */
  field?: string;
  /** Every problem found, when there are several (e.g. a policy document's). */
  problems?: string[];
  /** For `rate_limited`: seconds until a retry may succeed. */
  retryAfterSeconds?: number;
}

/** An expected failure of a service call, with a message safe to show. */
export class ServiceError extends Error {
  override name = "ServiceError";
  /** The input field at fault, if any. */
  readonly field: string | undefined;
  /** Every problem found, if more than the message says. */
  readonly problems: string[] | undefined;
  /** For `rate_limited`: seconds until a retry may succeed. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly kind: ServiceErrorKind,
    message: string,
    details: ServiceErrorDetails = {},
  ) {
    super(message);
    this.field = details.field;
    this.problems = details.problems;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

/** Bad input in `field`: the message reads `<field>: <problem>`. */
export function invalid(field: string, problem: string, problems?: string[]): ServiceError {
  return new ServiceError("invalid", `${field}: ${problem}`, { field, problems });
}

/** Nothing exists under the given name or id. */
export function notFound(message: string, field?: string): ServiceError {
  return new ServiceError("not_found", message, { field });
}

/** The request clashes with what is stored. */
export function conflict(message: string, field?: string): ServiceError {
  return new ServiceError("conflict", message, { field });
}

/** A collaborator the request needs is not running. */
export function unavailable(message: string): ServiceError {
  return new ServiceError("unavailable", message);
}

/** The caller is not who they need to be (no session, wrong password). */
export function unauthorized(message: string, field?: string): ServiceError {
  return new ServiceError("unauthorized", message, { field });
}

/** The caller is known but may not do this. */
export function forbidden(message: string, field?: string): ServiceError {
  return new ServiceError("forbidden", message, { field });
}

/** Too many attempts: retry after `retryAfterMs` (rounded up to whole seconds). */
export function rateLimited(message: string, retryAfterMs: number): ServiceError {
  return new ServiceError("rate_limited", message, {
    retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
  });
}

/** Quotes a caller-supplied value for a message, cut to `max` characters (default 64). */
export function quote(value: unknown, max = 64): string {
  const text = typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
