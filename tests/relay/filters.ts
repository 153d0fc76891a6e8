/**
 * NIP-01 subscription filters: validation of untrusted filter objects and event matching.
 *
 * Values are kept in sets so a `#p` filter listing hundreds of pubkeys still matches in O(tags).
 * Keys the relay does not know (for example NIP-50 `search`) are ignored.
 */
import type { NostrEvent } from "nostr-tools/pure";

/** A validated filter. Every present condition must hold; values within one condition are ORed. */
export interface Filter {
  /** Exact event ids. */
  ids?: Set<string>;
  /** Exact author pubkeys. */
  authors?: Set<string>;
  /** Event kinds. */
  kinds?: Set<number>;
  /** Single-letter tag name (`p` for `#p`) → accepted tag values. */
  tags: Map<string, Set<string>>;
  /** Lowest accepted `created_at`, in unix seconds. */
  since?: number;
  /** Highest accepted `created_at`, in unix seconds. */
  until?: number;
  /** Most stored events to return for the initial query; live events are not limited. */
  limit?: number;
}

/** Raised for a filter the relay cannot accept; the message becomes the `CLOSED` reason. */
export class FilterError extends Error {
  override name = "FilterError";
}

/** Validates one untrusted filter; at most `maxValues` values per field. Throws {@link FilterError}. */
export function parseFilter(raw: unknown, maxValues: number): Filter {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new FilterError("a filter must be a JSON object");
  }
  const filter: Filter = { tags: new Map() };
  for (const [key, value] of Object.entries(raw)) {
    if (key === "ids" || key === "authors") {
      filter[key] = new Set(valueList(key, value, maxValues, isString, "strings"));
    } else if (key === "kinds") {
      filter.kinds = new Set(valueList(key, value, maxValues, isInteger, "integers"));
    } else if (/^#[a-zA-Z]$/.test(key)) {
      filter.tags.set(key.slice(1), new Set(valueList(key, value, maxValues, isString, "strings")));
    } else if (key === "since" || key === "until" || key === "limit") {
      if (!Number.isSafeInteger(value) || (value as number) < 0) {
        throw new FilterError(`filter field "${key}" must be a non-negative integer`);
      }
      filter[key] = value as number;
    }
  }
  return filter;
}

/** True when `event` satisfies every condition of `filter` (`limit` is not a condition). */
export function matchesFilter(filter: Filter, event: NostrEvent): boolean {
  if (filter.ids && !filter.ids.has(event.id)) return false;
  if (filter.authors && !filter.authors.has(event.pubkey)) return false;
  if (filter.kinds && !filter.kinds.has(event.kind)) return false;
  if (filter.since !== undefined && event.created_at < filter.since) return false;
  if (filter.until !== undefined && event.created_at > filter.until) return false;
  for (const [name, values] of filter.tags) {
    if (!event.tags.some((tag) => tag[0] === name && tag[1] !== undefined && values.has(tag[1]))) {
      return false;
    }
  }
  return true;
}

/** True when `event` satisfies at least one of `filters`. */
export function matchesAny(filters: readonly Filter[], event: NostrEvent): boolean {
  return filters.some((filter) => matchesFilter(filter, event));
}

function valueList<T>(
  key: string,
  value: unknown,
  maxValues: number,
  check: (item: unknown) => item is T,
  what: string,
): T[] {
  if (!Array.isArray(value) || !value.every(check)) {
    throw new FilterError(`filter field "${key}" must be an array of ${what}`);
  }
  if (value.length > maxValues) {
    throw new FilterError(
      `filter field "${key}" has ${value.length} values, more than the limit of ${maxValues}`,
    );
  }
  return value;
}

function isInteger(value: unknown): value is number {
  return Number.isInteger(value);
}

function isString(value: unknown): value is string {
  return typeof value === "string";
}
