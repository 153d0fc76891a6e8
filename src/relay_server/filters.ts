/**
 * `REQ` filters on the endpoint: only what a NIP-46 client asks for — kind 24133 replies by this
 * path's bunker (`authors`) and/or to its own pubkeys (`#p`), with `since`, `until`, `limit`,
 * `ids`. Anything else is refused with a reason, never silently widened.
 */
import type { NostrEvent } from "../nostr/event.ts";
import { NIP46_KIND } from "../nostr/kinds.ts";
import { isHex64 } from "../util/hex.ts";
import { MAX_FILTER_VALUES, MAX_FILTERS } from "./settings.ts";

/** One checked filter. */
export interface RelayFilter {
  authors?: string[];
  p?: string[];
  ids?: string[];
  since?: number;
  until?: number;
  limit?: number;
}

/** Outcome of {@link parseFilters}: the filters, or the `CLOSED` reason. */
export type ParsedFilters = { ok: true; filters: RelayFilter[] } | { ok: false; reason: string };

const KNOWN_FIELDS = new Set(["kinds", "authors", "#p", "ids", "since", "until", "limit"]);

/** Checks the filters of a `REQ` on the path of `bunkerPubkey`. */
export function parseFilters(raw: readonly unknown[], bunkerPubkey: string): ParsedFilters {
  if (raw.length === 0) return refused("invalid: a REQ needs at least one filter");
  if (raw.length > MAX_FILTERS) return refused(`invalid: at most ${MAX_FILTERS} filters`);
  const filters: RelayFilter[] = [];
  for (const value of raw) {
    const parsed = parseFilter(value, bunkerPubkey);
    if (typeof parsed === "string") return refused(parsed);
    filters.push(parsed);
  }
  return { ok: true, filters };
}

function parseFilter(value: unknown, bunkerPubkey: string): RelayFilter | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "invalid: a filter must be an object";
  }
  const fields = value as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!KNOWN_FIELDS.has(name)) {
      return `invalid: filter field "${name.slice(0, 32)}" is not served by this relay`;
    }
  }
  const kinds = fields.kinds;
  if (!Array.isArray(kinds) || kinds.length !== 1 || kinds[0] !== NIP46_KIND) {
    return `restricted: this relay serves only kinds [${NIP46_KIND}]`;
  }
  const filter: RelayFilter = {};
  for (const [name, key] of [["authors", "authors"], ["#p", "p"], ["ids", "ids"]] as const) {
    if (fields[name] === undefined) continue;
    const list = hexList(fields[name]);
    if (!list) return `invalid: "${name}" must be a list of 1 to ${MAX_FILTER_VALUES} hex ids`;
    filter[key] = list;
  }
  if (filter.authors && filter.authors.some((author) => author !== bunkerPubkey)) {
    return "restricted: only this relay's bunker pubkey may be given in authors";
  }
  if (!filter.authors && !filter.p) {
    return "restricted: a filter needs authors (this bunker) or #p (your pubkey)";
  }
  for (const name of ["since", "until", "limit"] as const) {
    const number = fields[name];
    if (number === undefined) continue;
    if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 0) {
      return `invalid: "${name}" must be a whole number`;
    }
    filter[name] = number;
  }
  return filter;
}

function hexList(value: unknown): string[] | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_FILTER_VALUES) {
    return undefined;
  }
  return value.every(isHex64) ? value as string[] : undefined;
}

/** True when `event` matches `filter` (kind 24133 is implied: nothing else is ever delivered). */
export function matchesFilter(filter: RelayFilter, event: NostrEvent): boolean {
  if (event.kind !== NIP46_KIND) return false;
  if (filter.authors && !filter.authors.includes(event.pubkey)) return false;
  if (filter.ids && !filter.ids.includes(event.id)) return false;
  if (filter.since !== undefined && event.created_at < filter.since) return false;
  if (filter.until !== undefined && event.created_at > filter.until) return false;
  if (filter.p) {
    const wanted = filter.p;
    if (!event.tags.some((tag) => tag[0] === "p" && wanted.includes(tag[1] ?? ""))) return false;
  }
  return true;
}

/** True when `event` matches any of `filters`. */
export function matchesAny(filters: readonly RelayFilter[], event: NostrEvent): boolean {
  return filters.some((filter) => matchesFilter(filter, event));
}

function refused(reason: string): ParsedFilters {
  return { ok: false, reason };
}
