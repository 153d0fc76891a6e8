/**
 * NIP-98 HTTP auth for the admin API: `Authorization: Nostr <base64 kind-27235 event>`.
 *
 * Checked in two parts. {@link verifyNip98} runs before the request body is read: size,
 * decoding, shape, kind, time window, `u`, `method`, then the signature and the admin allowlist
 * (403). After the body is read (and capped), {@link checkPayload} compares the `payload` tag with
 * its sha256, and only then is the event id entered in the replay store, so only fully valid admin
 * events are remembered and nobody can block a genuine event by replaying its id first.
 *
 * The `u` tag must name this server, never a host the client chose: with `--public-url` it is
 * that origin plus the request's path and query, exactly (scheme, host, port, path and query,
 * compared after WHATWG URL normalization, fragment ignored); without it, the address keycast is
 * bound to. The `Host` header of the request plays no part.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { verifyEvent } from "nostr-tools/pure";
import { HTTP_AUTH_KIND } from "../nostr/kinds.ts";
import { encodeHex } from "../util/hex.ts";
import { quote } from "../service/errors.ts";

/** The NIP-98 event kind. */
export const NIP98_KIND = HTTP_AUTH_KIND;
/** Largest accepted NIP-98 token (the base64 part of the header), in characters. */
export const MAX_NIP98_TOKEN_CHARS = 8_192;
/** Largest accepted distance between `created_at` and the server clock, in seconds. */
export const NIP98_WINDOW_SECONDS = 60;

/** The request a NIP-98 event must describe. */
export interface Nip98Request {
  /** HTTP method, e.g. `POST`. */
  method: string;
  /** Every URL this request may be signed for: this server's origins plus its path and query. */
  urls: readonly string[];
}

/** A verified event, before its payload is checked and its id remembered. */
export interface VerifiedNip98 {
  /** The admin's pubkey. */
  pubkey: string;
  /** The event id, for the replay store. */
  eventId: string;
  /** `created_at`, in Unix seconds. */
  createdAt: number;
  /** The `payload` tag (sha256 hex of the body), if the event has one. */
  payload: string | undefined;
}

/** Outcome of {@link verifyNip98}: the verified event, or a status and a reason safe to show. */
export type Nip98Result =
  | { ok: true; event: VerifiedNip98 }
  | { ok: false; status: 401 | 403; reason: string };

/** Remembers accepted NIP-98 event ids (the database's `nip98_replays`). */
export interface Nip98ReplayStore {
  /** `fresh` the first time `eventId` is seen before `expiresAtMs`, `replay` after. */
  remember(eventId: string, expiresAtMs: number): Promise<"fresh" | "replay">;
}

/** What {@link verifyNip98} checks against. */
export interface Nip98Options {
  /** Lowercase hex pubkeys allowed in. */
  adminPubkeys: ReadonlySet<string>;
  /** Wall clock in ms since the epoch. */
  now: () => number;
}

/** Verifies a NIP-98 token (the part after `Nostr `) for `request`. */
export function verifyNip98(token: string, request: Nip98Request, opts: Nip98Options): Nip98Result {
  const fail = (reason: string, status: 401 | 403 = 401): Nip98Result => ({
    ok: false,
    status,
    reason: rejected(reason),
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
  const tags = readTags(event.tags, request);
  if (typeof tags === "string") return fail(tags);
  if (!verifyEvent(event)) return fail("the event id or signature is invalid");
  if (!opts.adminPubkeys.has(event.pubkey)) {
    return fail(`pubkey ${event.pubkey} is not an admin (see --admin-pubkey)`, 403);
  }
  return {
    ok: true,
    event: {
      pubkey: event.pubkey,
      eventId: event.id,
      createdAt: event.created_at,
      payload: tags.payload,
    },
  };
}

/**
 * Why the verified event's `payload` tag does not fit `body`, or undefined when it does. A body
 * needs a payload tag; a payload tag must be the sha256 hex of the body.
 */
export function checkPayload(event: VerifiedNip98, body: Uint8Array): string | undefined {
  if (event.payload === undefined) {
    return body.byteLength > 0
      ? rejected("a payload tag (sha256 hex of the body) is required for requests with a body")
      : undefined;
  }
  return event.payload.toLowerCase() === encodeHex(sha256(body))
    ? undefined
    : rejected("the payload tag does not match the sha256 of the request body");
}

/** The replay store's expiry for an accepted event: past the end of its time window. */
export function replayExpiry(event: VerifiedNip98): number {
  return (event.createdAt + 2 * NIP98_WINDOW_SECONDS) * 1000;
}

function rejected(reason: string): string {
  return `NIP-98 authorization rejected: ${reason}`;
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

/** The `payload` tag of an event whose `u` and `method` tags describe `request`, or why not. */
function readTags(tags: string[][], request: Nip98Request): { payload?: string } | string {
  const values = (name: string) => tags.filter((t) => t[0] === name).map((t) => t[1] ?? "");
  const [u, ...moreU] = values("u");
  if (u === undefined || moreU.length > 0) return "the event needs exactly one u tag";
  const signed = normalizeUrl(u);
  if (!request.urls.some((url) => normalizeUrl(url) === signed)) {
    return `u tag ${quote(u, 200)} does not name this server: expected ${
      quote(request.urls[0] ?? "", 200)
    }`;
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
  return payload === undefined ? {} : { payload };
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
