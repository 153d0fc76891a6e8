/**
 * Admin authentication for every `/api/*` route: `Authorization: Bearer <admin token>` (compared
 * as sha256 digests in constant time) or NIP-98 `Authorization: Nostr <base64 event>` from an
 * `--admin-pubkey`. It runs before the request body is read, so an unauthenticated client never
 * gets a body read; a NIP-98 event's payload tag is checked, and its id entered in the replay
 * store, once the body is in ({@link nip98Payload}). Failures are 401 (403 for a valid NIP-98
 * event from a non-admin) with a JSON reason that never echoes the presented credential. Without
 * an `Authorization` header, a logged-in account with the admin role is admitted through its
 * session cookie (the web pages' admin views; `sameOrigin` in `session.ts` guards it from CSRF).
 */
import { constantTimeEqual } from "../util/constant_time.ts";
import { sha256 } from "@noble/hashes/sha2.js";
import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors.ts";
import { checkPayload, type Nip98ReplayStore, replayExpiry, verifyNip98 } from "./nip98.ts";
import type { AppEnv } from "./types.ts";

/** Largest accepted `Authorization` header, in characters (checked before any decoding). */
export const MAX_AUTHORIZATION_CHARS = 8_300;
/** Largest accepted bearer token, in characters. */
const MAX_TOKEN_CHARS = 1_024;
const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="keycast", Nostr' };
const USAGE = 'use "Bearer <admin token>" or "Nostr <base64 NIP-98 event>"';

/** What {@link adminAuth} checks against. */
export interface AdminAuthOptions {
  /** sha256 of the admin token. */
  adminTokenHash: Uint8Array;
  /** Lowercase hex pubkeys allowed with NIP-98. */
  adminPubkeys: readonly string[];
  /** Wall clock in ms since the epoch. */
  now: () => number;
  /** This server's origins (`https://signer.example`) that NIP-98 `u` tags may name. */
  origins: () => readonly string[];
}

/** Middleware that admits admins and sets `c.var.admin`; everyone else gets 401 or 403. */
export function adminAuth(opts: AdminAuthOptions): MiddlewareHandler<AppEnv> {
  if (opts.adminTokenHash.length !== 32) {
    throw new RangeError(
      `Cannot use admin token hash of ${opts.adminTokenHash.length} bytes: expected a sha256 digest`,
    );
  }
  const tokenHash = new Uint8Array(opts.adminTokenHash);
  const adminPubkeys = new Set(opts.adminPubkeys);
  return async (c, next) => {
    const header = c.req.header("authorization");
    if ((header === undefined || header.trim() === "") && c.var.session) {
      // An admin logged in through the web pages; `sameOrigin` guards its state changes.
      const { account } = c.var.session.live;
      if (account.role !== "admin") {
        throw new ApiError(403, "This needs an admin account: yours is a user account");
      }
      c.set("admin", { method: "session", accountId: account.id });
      return await next();
    }
    if (header === undefined || header.trim() === "") {
      throw unauthorized(`Missing Authorization header: ${USAGE}`);
    }
    if (header.length > MAX_AUTHORIZATION_CHARS) {
      throw unauthorized(
        `Authorization header is ${header.length} characters, the limit is ${MAX_AUTHORIZATION_CHARS}`,
      );
    }
    const match = /^\s*([A-Za-z]+)\s+(\S+)\s*$/.exec(header);
    const scheme = match?.[1]?.toLowerCase();
    const credential = match?.[2] ?? "";
    if (scheme === "bearer") {
      if (!bearerMatches(credential, tokenHash)) {
        throw unauthorized("Admin token rejected: it does not match the server's admin token");
      }
      c.set("admin", { method: "bearer" });
    } else if (scheme === "nostr") {
      const requested = new URL(c.req.url);
      const pathAndQuery = `${requested.pathname}${requested.search}`;
      const result = verifyNip98(
        credential,
        { method: c.req.method, urls: opts.origins().map((origin) => origin + pathAndQuery) },
        { adminPubkeys, now: opts.now },
      );
      if (!result.ok) {
        throw new ApiError(result.status, result.reason, {
          headers: result.status === 401 ? CHALLENGE : undefined,
        });
      }
      c.set("admin", { method: "nip98", pubkey: result.event.pubkey, event: result.event });
    } else {
      // The scheme is not echoed: a client that forgot it would see its token quoted back.
      throw unauthorized(
        match
          ? `Unsupported Authorization scheme: ${USAGE}`
          : `Malformed Authorization header: ${USAGE}`,
      );
    }
    await next();
  };
}

/**
 * Finishes NIP-98 authentication once the body is read: its payload tag must match, and its id
 * must not have been used before. Bearer requests pass through.
 */
export function nip98Payload(replays: Nip98ReplayStore): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const admin = c.var.admin;
    if (admin?.method === "nip98") {
      const problem = checkPayload(admin.event, c.var.rawBody);
      if (problem) throw unauthorized(problem);
      const seen = await replays.remember(admin.event.eventId, replayExpiry(admin.event));
      if (seen === "replay") {
        throw unauthorized(
          "NIP-98 authorization rejected: this event was already used; sign a new one per request",
        );
      }
    }
    await next();
  };
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, message, { headers: CHALLENGE });
}

/** True when sha256(`token`) equals `expected`, compared without early exit. */
export function bearerMatches(token: string, expected: Uint8Array): boolean {
  if (token.length === 0 || token.length > MAX_TOKEN_CHARS) return false;
  return constantTimeEqual(sha256(new TextEncoder().encode(token)), expected);
}

export { constantTimeEqual };
