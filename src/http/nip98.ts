/**
 * NIP-98 HTTP auth for the admin API: `Authorization: Nostr <base64 kind-27235 event>`.
 *
 * Cheap checks run first (size, decoding, shape, kind, time window, `u`, `method`, `payload`), the
 * signature next, then the admin allowlist (403) and last the replay cache, so only fully valid
 * admin events are remembered and nobody can block a genuine event by replaying its id first.
 *
 * The `u` tag must equal the URL this server sees for the request (scheme, host, port, path and
 * query, compared after WHATWG URL normalization, fragment ignored). Behind a reverse proxy that
 * is the proxied URL (e.g. `http://127.0.0.1:8080/api/keys`), not the public one: sign that URL,
 * or let the proxy pass the original Host and scheme through unchanged.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { verifyEvent } from "nostr-tools/pure";
import { encodeHex } from "../util/hex.ts";
import { quote } from "../service/errors.ts";

/** The NIP-98 event kind. */
export const NIP98_KIND = 27235;
/** Largest accepted NIP-98 token (the base64 part of the header), in characters. */
export const MAX_NIP98_TOKEN_CHARS = 8_192;
/** Largest accepted distance between `created_at` and the server clock, in seconds. */
export const NIP98_WINDOW_SECONDS = 60;

/** The request a NIP-98 event must describe. */
export interface Nip98Request {
  /** HTTP method, e.g. `POST`. */
  method: string;
  /** Full request URL as the server sees it. */
  url: string;
  /** Raw request body; empty when there is none. */
  body: Uint8Array;
}

/** Outcome of {@link verifyNip98}: the admin pubkey, or a status and a reason safe to show. */
export type Nip98Result =
  | { ok: true; pubkey: string }
  | { ok: false; status: 401 | 403 | 429; reason: string };

/** What {@link verifyNip98} checks against. */
export interface Nip98Options {
  /** Lowercase hex pubkeys allowed in. */
  adminPubkeys: ReadonlySet<string>;
  /** Remembers accepted event ids. */
  replay: ReplayCache;
  /** Wall clock in ms since the epoch. */
  now: () => number;
}

/** Verifies a NIP-98 token (the part after `Nostr `) for `request`. */
export function verifyNip98(token: string, request: Nip98Request, opts: Nip98Options): Nip98Result {
  const fail = (reason: string, status: 401 | 403 | 429 = 401): Nip98Result => ({
    ok: false,
    status,
    reason: `NIP-98 authorization rejected: ${reason}`,
  });
  if (token.length > MAX_NIP98_TOKEN_CHARS) {
    return fail(`the token is ${token.length} characters, the limit is ${MAX_NIP98_TOKEN_CHARS}`);
  }
  const event = decodeEvent(token);
  if (typeof event === "string") return fail(event);
  if (event.kind !== NIP98_KIND) return fail(`event kind is ${event.kind}, expected ${NIP98_KIND}`);
  const skew = Math.round(opts.now() / 1000 - event.created_at);
  if (Math.abs(skew) > NIP98_WINDOW_SECONDS) {
    return fail(
      `created_at is ${Math.abs(skew)} s ${skew > 0 ? "behind" : "ahead of"} the server clock, ` +
        `the limit is ${NIP98_WINDOW_SECONDS} s`,
    );
  }
  const tagProblem = checkTags(event.tags, request);
  if (tagProblem) return fail(tagProblem);
  if (!verifyEvent(event)) return fail("the event id or signature is invalid");
  if (!opts.adminPubkeys.has(event.pubkey)) {
    return fail(`pubkey ${event.pubkey} is not an admin (see --admin-pubkey)`, 403);
  }
  const seen = opts.replay.remember(event.id, opts.now());
  if (seen === "replay") return fail("this event was already used; sign a new one per request");
  if (seen === "full") return fail("too many NIP-98 requests, try again shortly", 429);
  return { ok: true, pubkey: event.pubkey };
}

interface SignedEvent {
  id: string;
  pubkey: string;
  sig: string;
  kind: number;
  created_at: number;
  tags: string[][];
  content: string;
}

/** The event in `token`, or why it is not one. */
function decodeEvent(token: string): SignedEvent | string {
  const compact = token.trim().replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  if (compact === "" || !/^[A-Za-z0-9+/]+$/.test(compact) || compact.length % 4 === 1) {
    return "the token is not valid base64";
  }
  let json: unknown;
  try {
    const binary = atob(compact.padEnd(Math.ceil(compact.length / 4) * 4, "="));
    const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (_error: unknown) {
    // The decoder's and parser's messages can quote the input; the kind of failure is enough.
    return "the token does not decode to JSON";
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return "the token is not a JSON event object";
  }
  const { id, pubkey, sig, kind, created_at: createdAt, content, tags } = json as Record<
    string,
    unknown
  >;
  if (!isHex(id, 64)) return "the event id is not 64 lowercase hex characters";
  if (!isHex(pubkey, 64)) return "the event pubkey is not 64 lowercase hex characters";
  if (!isHex(sig, 128)) return "the event sig is not 128 lowercase hex characters";
  if (typeof kind !== "number" || !Number.isSafeInteger(kind)) {
    return "the event kind is not an integer";
  }
  if (typeof createdAt !== "number" || !Number.isSafeInteger(createdAt)) {
    return "the event created_at is not an integer";
  }
  if (typeof content !== "string") return "the event content is not a string";
  if (!isStringTags(tags)) return "the event tags are not arrays of strings";
  return { id, pubkey, sig, kind, created_at: createdAt, content, tags };
}

function isHex(value: unknown, length: number): value is string {
  return typeof value === "string" && value.length === length && /^[0-9a-f]+$/.test(value);
}

function isStringTags(value: unknown): value is string[][] {
  return Array.isArray(value) &&
    value.every((tag) => Array.isArray(tag) && tag.every((v) => typeof v === "string"));
}

/** Why the `u`, `method` and `payload` tags do not describe `request`, or undefined. */
function checkTags(tags: string[][], request: Nip98Request): string | undefined {
  const values = (name: string) => tags.filter((t) => t[0] === name).map((t) => t[1] ?? "");
  const [u, ...moreU] = values("u");
  if (u === undefined || moreU.length > 0) return "the event needs exactly one u tag";
  if (normalizeUrl(u) !== normalizeUrl(request.url)) {
    return `u tag ${quote(u, 200)} does not match the request URL ${quote(request.url, 200)}`;
  }
  const [method, ...moreMethods] = values("method");
  if (method === undefined || moreMethods.length > 0) {
    return "the event needs exactly one method tag";
  }
  if (method.toUpperCase() !== request.method.toUpperCase()) {
    return `method tag ${quote(method)} does not match the request method ${quote(request.method)}`;
  }
  const [payload, ...morePayloads] = values("payload");
  if (morePayloads.length > 0) return "the event has more than one payload tag";
  if (payload === undefined) {
    return request.body.byteLength > 0
      ? "a payload tag (sha256 hex of the body) is required for requests with a body"
      : undefined;
  }
  if (payload.toLowerCase() !== encodeHex(sha256(request.body))) {
    return "the payload tag does not match the sha256 of the request body";
  }
  return undefined;
}

/** WHATWG-normalized URL without fragment, or the raw text when it does not parse. */
function normalizeUrl(text: string): string {
  try {
    const url = new URL(text);
    url.hash = "";
    return url.href;
  } catch (_error: unknown) {
    // Unparseable: compare as given, which can never equal a real request URL's normal form.
    return `invalid:${text}`;
  }
}

/**
 * Event ids of accepted NIP-98 events, each kept for `ttlMs`, at most `maxEntries` at once. When
 * full of unexpired ids it refuses new ones instead of forgetting any (forgetting would reopen a
 * replay window).
 */
export class ReplayCache {
  readonly #expiries = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  /** `ttlMs` default 120_000 (twice the time window); `maxEntries` default 10_000. */
  constructor(opts: { ttlMs?: number; maxEntries?: number } = {}) {
    this.#ttlMs = opts.ttlMs ?? 2 * NIP98_WINDOW_SECONDS * 1000;
    this.#maxEntries = opts.maxEntries ?? 10_000;
  }

  /** Ids currently remembered. */
  get size(): number {
    return this.#expiries.size;
  }

  /** Records `id` at `nowMs`: `fresh` the first time, `replay` after, `full` when no room is left. */
  remember(id: string, nowMs: number): "fresh" | "replay" | "full" {
    this.#purge(nowMs);
    if (this.#expiries.has(id)) return "replay";
    if (this.#expiries.size >= this.#maxEntries) return "full";
    this.#expiries.set(id, nowMs + this.#ttlMs);
    return "fresh";
  }

  #purge(nowMs: number): void {
    // Insertion order is expiry order (constant TTL), so expired ids sit at the front.
    for (const [id, expiry] of this.#expiries) {
      if (expiry > nowMs) break;
      this.#expiries.delete(id);
    }
  }
}
