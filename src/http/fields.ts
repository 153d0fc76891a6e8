/**
 * Validation of request fields and path parameters. Each helper returns the clean value or throws
 * a 400 {@link ApiError} whose message starts with the field name and quotes the bad value (never
 * for secret fields, which callers do not pass through here).
 */
import { relayUrlProblem } from "../config/config.ts";
import { ApiError, badField, quote } from "./errors.ts";

/** Names of keys and policies: 1–64 of `A-Z a-z 0-9 . _ -`, not only dots. */
const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Longest accepted expiry: 10 years, in seconds. */
export const MAX_EXPIRES_IN_SECONDS = 10 * 366 * 24 * 3600;
/** Most relays one authorization may name. */
export const MAX_RELAYS = 20;
/** Longest accepted relay URL, in characters. */
const MAX_RELAY_CHARS = 512;
/** Longest accepted label, in characters. */
export const MAX_LABEL_CHARS = 200;
/** Largest accepted `max_uses`. */
export const MAX_MAX_USES = 1_000_000;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Rejects fields of `body` not in `allowed` (a typo must not silently drop a limit). */
export function rejectUnknownFields(
  body: Record<string, unknown>,
  allowed: readonly string[],
): void {
  for (const field of Object.keys(body)) {
    if (!allowed.includes(field)) {
      throw badField(field, `unknown field, expected one of ${allowed.join(", ")}`);
    }
  }
}

/** Whether `value` is a valid key or policy name. */
export function isValidName(value: unknown): value is string {
  return typeof value === "string" && NAME.test(value) && !/^\.+$/.test(value);
}

/** A key or policy name from `body[field]`. */
export function parseName(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (value === undefined) throw badField(field, "is required");
  if (!isValidName(value)) {
    throw badField(
      field,
      `${quote(value)} is not a valid name: use 1 to 64 characters from A-Z a-z 0-9 . _ -`,
    );
  }
  return value;
}

/** A name from the path; 400 when malformed, before any query. */
export function parseNameParam(value: string, what: string): string {
  if (!isValidName(value)) {
    throw new ApiError(400, `Cannot use ${what} name ${quote(value)}: it is not a valid name`);
  }
  return value;
}

/** A UUID from the path, lowercased; 400 when malformed, before any query. */
export function parseUuidParam(value: string, what: string): string {
  if (!UUID.test(value)) {
    throw new ApiError(400, `Cannot use ${what} id ${quote(value)}: it is not a UUID`);
  }
  return value.toLowerCase();
}

/** A required string field of at most `maxChars` characters (not echoed: it may be secret). */
export function requireString(
  body: Record<string, unknown>,
  field: string,
  maxChars: number,
): string {
  const value = body[field];
  if (value === undefined || value === null) throw badField(field, "is required");
  if (typeof value !== "string") throw badField(field, `must be a string, got ${typeOf(value)}`);
  if (value.length === 0) throw badField(field, "must not be empty");
  if (value.length > maxChars) throw badField(field, `must be at most ${maxChars} characters`);
  return value;
}

/** An optional string field (undefined or null → undefined), not echoed. */
export function optionalString(
  body: Record<string, unknown>,
  field: string,
  maxChars: number,
): string | undefined {
  if (body[field] === undefined || body[field] === null) return undefined;
  return requireString(body, field, maxChars);
}

/** Relay URLs from `value` (an array of ws/wss URLs), deduplicated; `fallback` when absent/empty. */
export function parseRelays(value: unknown, fallback: readonly string[]): string[] {
  if (value === undefined || value === null) return [...fallback];
  if (!Array.isArray(value)) throw badField("relays", `must be an array, got ${typeOf(value)}`);
  if (value.length > MAX_RELAYS) {
    throw badField("relays", `has ${value.length} entries, the limit is ${MAX_RELAYS}`);
  }
  const relays: string[] = [];
  value.forEach((item, i) => {
    const field = `relays[${i}]`;
    if (typeof item !== "string") throw badField(field, `must be a string, got ${typeOf(item)}`);
    const url = item.trim();
    if (url.length > MAX_RELAY_CHARS) {
      throw badField(field, `is longer than ${MAX_RELAY_CHARS} characters`);
    }
    const problem = relayUrlProblem(url);
    if (problem) throw badField(field, `cannot use relay URL ${quote(url, 200)}: ${problem}`);
    if (!relays.includes(url)) relays.push(url);
  });
  return relays.length > 0 ? relays : [...fallback];
}

/** `max_uses`: absent → 1, null → no limit, else an integer from 1 to {@link MAX_MAX_USES}. */
export function parseMaxUses(value: unknown): number | null {
  if (value === undefined) return 1;
  if (value === null) return null;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_MAX_USES) {
    throw badField(
      "max_uses",
      `${quote(value)} is not a whole number from 1 to ${MAX_MAX_USES} (null for no limit)`,
    );
  }
  return value;
}

/**
 * `expires_in` in seconds: a number of seconds or text like `3600`, `3600s`, `45m`, `12h`, `30d`,
 * `2w`; from 1 s to 10 years. Absent or null → no expiry.
 */
export function parseExpiresIn(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  let seconds: number | undefined;
  if (typeof value === "number") seconds = value;
  else if (typeof value === "string") {
    const m = /^\s*(\d{1,12})\s*([smhdw]?)\s*$/i.exec(value);
    if (m) seconds = Number(m[1]) * UNIT_SECONDS[(m[2] || "s").toLowerCase()]!;
  }
  if (
    seconds === undefined || !Number.isSafeInteger(seconds) || seconds < 1 ||
    seconds > MAX_EXPIRES_IN_SECONDS
  ) {
    throw badField(
      "expires_in",
      `${quote(value)} is not a duration from 1 second to 10 years ` +
        "(a number of seconds, or like 3600s, 45m, 12h, 30d, 2w)",
    );
  }
  return seconds;
}

/** `label`: absent or null → null; else at most {@link MAX_LABEL_CHARS} printable characters. */
export function parseLabel(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw badField("label", `must be a string, got ${typeOf(value)}`);
  if (value.length > MAX_LABEL_CHARS) {
    throw badField("label", `is ${value.length} characters, the limit is ${MAX_LABEL_CHARS}`);
  }
  if (/\p{Cc}/u.test(value)) throw badField("label", "must not contain control characters");
  return value;
}

/** A boolean query parameter: absent → false; `true`/`1` or `false`/`0`. */
export function parseBooleanQuery(value: string | undefined, name: string): boolean {
  if (value === undefined || value === "" || value === "false" || value === "0") return false;
  if (value === "true" || value === "1") return true;
  throw badField(name, `${quote(value)} is not true or false`);
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "an array" : typeof value;
}
