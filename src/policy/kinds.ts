/**
 * Event kinds: the dangerous ones and kind-range matching.
 */
import type { KindSpec } from "./document.ts";

/**
 * Kinds never signed unless a policy opts in through `allow_dangerous_kinds`, each because a
 * signature can overwrite, erase or hand over something of the user's:
 *
 * - 0 profile metadata: replaceable, a signature overwrites the whole profile.
 * - 3 follow list: replaceable, a bad one wipes every follow.
 * - 5 deletion request: asks relays to erase the user's events.
 * - 10000 mute list, 10001 pinned notes: replaceable lists, overwritten as a whole.
 * - 10002 relay list (NIP-65): redirects where the user's events are read and written.
 * - 10050 DM relay list (NIP-17): redirects where the user's private messages are delivered.
 * - 13194 wallet service info, 23194 / 23195 wallet request / response (NIP-47): money.
 * - 22242 relay authentication (NIP-42): logs in as the user, e.g. to read their gift-wrapped DMs.
 * - 24133 NIP-46 message: speaks the remote-signing protocol in the user's name.
 * - 24242 Blossom authorization: uploads to and deletes from the user's media servers.
 * - 27235 HTTP authentication (NIP-98): acts as the user on web services (admin APIs included).
 */
export const DANGEROUS_KINDS: readonly number[] = Object.freeze([
  0,
  3,
  5,
  10000,
  10001,
  10002,
  10050,
  13194,
  22242,
  23194,
  23195,
  24133,
  24242,
  27235,
]);

const dangerous = new Set(DANGEROUS_KINDS);

/** Whether `kind` is one of the {@link DANGEROUS_KINDS}. */
export function isDangerousKind(kind: number): boolean {
  return dangerous.has(kind);
}

/** The largest event kind. */
export const MAX_KIND = 65535;

/** Whether `value` is an integer kind 0–65535. */
export function isKind(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_KIND;
}

/** Whether `kind` is listed in `specs`, as an integer or inside an inclusive range. */
export function kindListed(specs: readonly KindSpec[], kind: number): boolean {
  return specs.some((spec) =>
    typeof spec === "number" ? spec === kind : spec[0] <= kind && kind <= spec[1]
  );
}
