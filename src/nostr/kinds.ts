/**
 * The event kinds keycast knows by name: the protocol kinds it speaks itself (NIP-46 messages,
 * relay AUTH, NIP-98 HTTP auth), the kinds people sign every day (for display), and the dangerous
 * kinds that no policy signs unless it opts in. This table is the only place a kind number is
 * written down; everything else imports the constants below.
 */

/** The largest event kind. */
export const MAX_KIND = 65535;

/** NIP-46 remote-signing messages (requests and replies). */
export const NIP46_KIND = 24133;
/** NIP-42 relay authentication. */
export const RELAY_AUTH_KIND = 22242;
/** NIP-98 HTTP authentication. */
export const HTTP_AUTH_KIND = 27235;

/** What keycast knows about one kind. */
export interface KindInfo {
  /** Short human name, e.g. "Short note". */
  name: string;
  /**
   * Why a signature of this kind can overwrite, erase or hand over something of the user's; set
   * only for dangerous kinds, which a policy must opt into (`allow_dangerous_kinds`).
   */
  danger?: string;
}

/** Known kinds by number. */
export const KINDS: Readonly<Record<number, KindInfo>> = Object.freeze({
  0: { name: "Profile", danger: "replaceable: a signature overwrites the whole profile" },
  1: { name: "Short note" },
  3: { name: "Follow list", danger: "replaceable: a bad one wipes every follow" },
  4: { name: "Encrypted DM (NIP-04)" },
  5: { name: "Deletion request", danger: "asks relays to erase the user's events" },
  6: { name: "Repost" },
  7: { name: "Reaction" },
  13: { name: "Seal" },
  14: { name: "Direct message" },
  16: { name: "Generic repost" },
  1059: { name: "Gift wrap" },
  1111: { name: "Comment" },
  9734: { name: "Zap request" },
  9802: { name: "Highlight" },
  10000: { name: "Mute list", danger: "replaceable: overwritten as a whole" },
  10001: { name: "Pinned notes", danger: "replaceable: overwritten as a whole" },
  10002: {
    name: "Relay list",
    danger: "redirects where the user's events are read and written (NIP-65)",
  },
  10050: {
    name: "DM relay list",
    danger: "redirects where the user's private messages are delivered (NIP-17)",
  },
  13194: { name: "Wallet service info", danger: "money (NIP-47)" },
  [RELAY_AUTH_KIND]: {
    name: "Relay authentication",
    danger: "logs in as the user, e.g. to read their gift-wrapped DMs (NIP-42)",
  },
  23194: { name: "Wallet request", danger: "money (NIP-47)" },
  23195: { name: "Wallet response", danger: "money (NIP-47)" },
  [NIP46_KIND]: {
    name: "Remote signing message",
    danger: "speaks the remote-signing protocol in the user's name (NIP-46)",
  },
  24242: {
    name: "Blossom authorization",
    danger: "uploads to and deletes from the user's media servers",
  },
  [HTTP_AUTH_KIND]: {
    name: "HTTP authentication",
    danger: "acts as the user on web services, admin APIs included (NIP-98)",
  },
  30023: { name: "Long-form article" },
});

/** Kinds never signed unless a policy opts in, ascending (see {@link KINDS} for each reason). */
export const DANGEROUS_KINDS: readonly number[] = Object.freeze(
  Object.entries(KINDS).filter(([, info]) => info.danger !== undefined).map(([kind]) =>
    Number(kind)
  ).sort((a, b) => a - b),
);

const dangerous = new Set(DANGEROUS_KINDS);

/** Whether `kind` is one of the {@link DANGEROUS_KINDS}. */
export function isDangerousKind(kind: number): boolean {
  return dangerous.has(kind);
}

/** Whether `value` is an integer kind 0–65535. */
export function isKind(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_KIND;
}

/** "Short note (1)" for a known kind, "Kind 4242" otherwise. */
export function kindLabel(kind: number): string {
  const info = KINDS[kind];
  return info ? `${info.name} (${kind})` : `Kind ${kind}`;
}
