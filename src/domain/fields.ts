/**
 * The rules every boundary applies to the fields people type: names, labels, durations, limits.
 * Pure predicates and parsers: the HTTP schemas (`src/http/schemas.ts`), the CLI's local checks
 * and the web forms all use these, so they accept exactly the same values.
 */

/** Names of keys and policies: 1–64 of `A-Z a-z 0-9 . _ -`. */
const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DURATION = /^\s*(\d{1,12})\s*([smhdw]?)\s*$/i;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Longest accepted duration (expiry, audit window): 10 years, in seconds. */
export const MAX_DURATION_SECONDS = 10 * 366 * 24 * 3600;
/** Most relays one authorization may name. */
export const MAX_RELAYS = 20;
/** Longest accepted label, in characters. */
export const MAX_LABEL_CHARS = 200;
/** Largest accepted `max_uses`. */
export const MAX_MAX_USES = 1_000_000;
/** How a name is described in error messages. */
export const NAME_RULE = "a name is 1 to 64 characters from A-Z a-z 0-9 . _ -, not only dots";
/** How a duration is described in error messages. */
export const DURATION_RULE = "a duration from 1 second to 10 years " +
  "(a number of seconds, or like 3600s, 45m, 12h, 30d, 2w)";

/** Whether `value` is a valid key or policy name. */
export function isValidName(value: unknown): value is string {
  return typeof value === "string" && NAME.test(value) && !/^\.+$/.test(value);
}

/** Whether `value` is a UUID (any case). */
export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/**
 * Seconds in a duration: a number of seconds or text like `3600`, `3600s`, `45m`, `12h`, `30d`,
 * `2w`; undefined unless it is from 1 second to {@link MAX_DURATION_SECONDS}.
 */
export function parseDuration(value: unknown): number | undefined {
  let seconds: number | undefined;
  if (typeof value === "number") seconds = value;
  else if (typeof value === "string") {
    const match = DURATION.exec(value);
    if (match) seconds = Number(match[1]) * UNIT_SECONDS[(match[2] || "s").toLowerCase()]!;
  }
  if (
    seconds === undefined || !Number.isSafeInteger(seconds) || seconds < 1 ||
    seconds > MAX_DURATION_SECONDS
  ) {
    return undefined;
  }
  return seconds;
}

/** Whether `value` is a whole number of clients from 1 to {@link MAX_MAX_USES}. */
export function isMaxUses(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 &&
    value <= MAX_MAX_USES;
}

/** Why `value` is not a usable label (display text), or undefined when it is. */
export function labelProblem(value: string): string | undefined {
  if (value.length > MAX_LABEL_CHARS) {
    return `it is ${value.length} characters, the limit is ${MAX_LABEL_CHARS}`;
  }
  if (/\p{Cc}/u.test(value)) return "it must not contain control characters";
  return undefined;
}

/** Whether `value` looks like secret key material (nsec, ncryptsec or 64 hex digits). */
export function looksSecret(value: string): boolean {
  return /^(nsec1|ncryptsec1)/i.test(value.trim()) || /^[0-9a-f]{64}$/i.test(value.trim());
}
