/**
 * The event kinds keycast knows by name: the protocol kinds it speaks itself (NIP-46 messages,
 * relay AUTH, NIP-98 HTTP auth), the kinds people sign every day (for display, e.g. "Short note
 * (1)"), and the dangerous kinds that no policy signs unless it opts in. A kind is dangerous when
 * one signature can change the user's identity, move or redirect their money, redirect the relays
 * or servers their data goes to, delete their data, or authenticate as them somewhere; the reasons
 * below say which (sources: the kinds table of the NIPs repository, and Marmot for kinds 443 and
 * 10051; 37375 is the wallet kind of NIP-60's first version, which wallets still read). Lists and
 * sets other than the mute and pin lists (bookmarks, interests, follow sets, app data) stay
 * signable: they change what the user sees, not who they are or where their data goes. Git
 * repository announcements and state (NIP-34) are dangerous: they say where the user's code lives
 * and which commit each branch is. This table is the only place a kind number is written down;
 * everything else imports the constants below.
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
   * Why one signature of this kind can change the user's identity, money, relay or server routing,
   * delete their data or authenticate as them; one line, set only for dangerous kinds, which a
   * policy must opt into (`allow_dangerous_kinds`).
   */
  danger?: string;
}

const NIP47 = "money: Nostr Wallet Connect (NIP-47)";
const NIP29_ADMIN = "as a group admin (NIP-29)";

/** Known kinds by number. */
export const KINDS: Readonly<Record<number, KindInfo>> = Object.freeze({
  0: { name: "Profile", danger: "replaceable: a signature overwrites the whole profile" },
  1: { name: "Short note" },
  3: { name: "Follow list", danger: "replaceable: a bad one wipes every follow" },
  4: { name: "Encrypted DM (NIP-04)" },
  5: { name: "Deletion request", danger: "asks relays to erase the user's events" },
  6: { name: "Repost" },
  7: { name: "Reaction" },
  8: { name: "Badge award" },
  9: { name: "Chat message" },
  11: { name: "Thread" },
  13: { name: "Seal" },
  14: { name: "Direct message" },
  15: { name: "File message" },
  16: { name: "Generic repost" },
  17: { name: "Website reaction" },
  20: { name: "Picture" },
  21: { name: "Video" },
  22: { name: "Short video" },
  40: { name: "Channel creation" },
  41: { name: "Channel metadata" },
  42: { name: "Channel message" },
  62: {
    name: "Request to vanish",
    danger: "asks relays to erase everything the user ever published (NIP-62)",
  },
  443: {
    name: "MLS key package",
    danger: "publishes group-messaging keys as the user: invites go to whoever holds them (Marmot)",
  },
  1018: { name: "Poll response" },
  1021: { name: "Auction bid", danger: "money: commits the user to pay a bid (NIP-15)" },
  1059: { name: "Gift wrap" },
  1063: { name: "File metadata" },
  1068: { name: "Poll" },
  1111: { name: "Comment" },
  1222: { name: "Voice message" },
  1311: { name: "Live chat message" },
  1984: { name: "Report" },
  1985: { name: "Label" },
  7374: {
    name: "Cashu quote",
    danger: "money: records a mint quote the user's Cashu wallet will redeem (NIP-60)",
  },
  7375: {
    name: "Cashu token",
    danger: "money: holds the user's Cashu proofs; a bad one loses or forges funds (NIP-60)",
  },
  7376: {
    name: "Cashu spending history",
    danger: "money: rewrites the user's Cashu wallet history (NIP-60)",
  },
  9000: { name: "Group: put user", danger: `grants group membership and roles ${NIP29_ADMIN}` },
  9001: { name: "Group: remove user", danger: `removes a group member ${NIP29_ADMIN}` },
  9002: {
    name: "Group: edit metadata",
    danger: `changes who may read and join a group ${NIP29_ADMIN}`,
  },
  9005: { name: "Group: delete event", danger: `deletes events from a group ${NIP29_ADMIN}` },
  9008: { name: "Group: delete group", danger: `deletes a whole group ${NIP29_ADMIN}` },
  9009: { name: "Group: create invite", danger: `creates invite codes to a group ${NIP29_ADMIN}` },
  9021: { name: "Group join request" },
  9022: { name: "Group leave request" },
  9321: { name: "Nutzap", danger: "money: sends Cashu ecash from the user's wallet (NIP-61)" },
  9734: { name: "Zap request" },
  9735: { name: "Zap receipt" },
  9802: { name: "Highlight" },
  10000: { name: "Mute list", danger: "replaceable: overwritten as a whole" },
  10001: { name: "Pinned notes", danger: "replaceable: overwritten as a whole" },
  10002: {
    name: "Relay list",
    danger: "redirects where the user's events are read and written (NIP-65)",
  },
  10003: { name: "Bookmarks" },
  10004: { name: "Communities" },
  10005: { name: "Public chats" },
  10006: {
    name: "Blocked relays",
    danger: "redirects the user's clients away from the relays it lists (NIP-51)",
  },
  10007: {
    name: "Search relays",
    danger: "redirects where the user's clients send their searches (NIP-51)",
  },
  10009: { name: "Groups" },
  10011: {
    name: "External identities",
    danger: "replaceable: overwrites the accounts elsewhere the user claims as theirs (NIP-39)",
  },
  10012: { name: "Favorite relays" },
  10013: {
    name: "Private relays",
    danger: "redirects where the user's drafts and private events are stored (NIP-37)",
  },
  10015: { name: "Interests" },
  10019: {
    name: "Nutzap info",
    danger: "money: redirects the nutzaps sent to the user to other mints and keys (NIP-61)",
  },
  10030: { name: "Emoji list" },
  10050: {
    name: "DM relay list",
    danger: "redirects where the user's private messages are delivered (NIP-17)",
  },
  10051: {
    name: "Key package relays",
    danger: "redirects where others fetch the user's group-messaging keys (Marmot)",
  },
  10063: {
    name: "Blossom servers",
    danger: "redirects where the user's media is uploaded and fetched (Blossom BUD-03)",
  },
  10096: {
    name: "File servers (NIP-96)",
    danger: "redirects where the user's files are uploaded (NIP-96)",
  },
  13194: { name: "Wallet service info", danger: NIP47 },
  15128: {
    name: "Site manifest",
    danger: "replaceable: replaces the website served under the user's key (NIP-5A)",
  },
  17375: {
    name: "Cashu wallet",
    danger: "money: replaceable: overwrites the user's Cashu wallet, its mints and key (NIP-60)",
  },
  [RELAY_AUTH_KIND]: {
    name: "Relay authentication",
    danger: "logs in as the user, e.g. to read their gift-wrapped DMs (NIP-42)",
  },
  23194: { name: "Wallet request", danger: NIP47 },
  23195: { name: "Wallet response", danger: NIP47 },
  23196: { name: "Wallet notification (NIP-04)", danger: NIP47 },
  23197: { name: "Wallet notification", danger: NIP47 },
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
  30000: { name: "Follow set" },
  30002: { name: "Relay set" },
  30003: { name: "Bookmark set" },
  30023: { name: "Long-form article" },
  30024: { name: "Draft article" },
  30078: { name: "App data" },
  30311: { name: "Live event" },
  30315: { name: "User status" },
  30617: {
    name: "Repository announcement",
    danger: "redirects where others clone the user's git repositories and push patches (NIP-34)",
  },
  30618: {
    name: "Repository state",
    danger: "moves the user's git branches and tags to other commits (NIP-34)",
  },
  31234: { name: "Draft" },
  31922: { name: "Calendar event (date)" },
  31923: { name: "Calendar event (time)" },
  31925: { name: "Calendar RSVP" },
  34128: {
    name: "Site file (legacy)",
    danger: "replaces a page of the website served under the user's key (NIP-5A)",
  },
  34550: { name: "Community" },
  35128: {
    name: "Named site manifest",
    danger: "replaces a website served under the user's key (NIP-5A)",
  },
  37375: {
    name: "Cashu wallet (legacy)",
    danger: "money: overwrites the user's Cashu wallet of the old NIP-60 format, its mints and key",
  },
  38383: {
    name: "Peer-to-peer order",
    danger: "money: offers a bitcoin trade in the user's name (NIP-69)",
  },
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
