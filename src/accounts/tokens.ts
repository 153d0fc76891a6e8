/**
 * The random tokens of accounts — session ids, invite codes — and the CSRF tokens of forms. A
 * random token is 256 bits, written as unpadded base64url; only its sha256 is ever stored. A CSRF
 * token is an HMAC of what it is bound to (a session, or a visitor's anonymous cookie) under a key
 * derived from the master key, so every instance and every restart accepts the same tokens and no
 * table is needed for them.
 */
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64urlnopad } from "@scure/base";
import { encodeHex } from "../util/hex.ts";

const encoder = new TextEncoder();

/** A fresh random token of `bytes` bytes (default 32), as unpadded base64url. */
export function randomToken(bytes = 32): string {
  return base64urlnopad.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** The sha256 (lowercase hex) a token is stored as. */
export function tokenHash(token: string): string {
  return encodeHex(sha256(encoder.encode(token)));
}

/** Whether `value` looks like a {@link randomToken} of 32 bytes (43 base64url characters). */
export function isRandomToken(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}

/** Mints and checks CSRF tokens bound to a session or an anonymous visitor. */
export class CsrfTokens {
  readonly #key: Uint8Array;

  /** `masterKey` is only used to derive this purpose's own key. */
  constructor(masterKey: Uint8Array) {
    this.#key = hmac(sha256, masterKey, encoder.encode("keycast/csrf/v1"));
  }

  /** The token for forms shown to `binding` (a session's id hash, or `anon:<cookie>`). */
  token(binding: string): string {
    return base64urlnopad.encode(hmac(sha256, this.#key, encoder.encode(binding)));
  }

  /** Whether `token` is the one for `binding`, compared in constant time. */
  check(binding: string, token: string | undefined): boolean {
    if (token === undefined || token.length !== 43) return false;
    const expected = encoder.encode(this.token(binding));
    const given = encoder.encode(token);
    let difference = expected.length ^ given.length;
    for (let i = 0; i < expected.length; i++) difference |= expected[i]! ^ (given[i] ?? 0);
    return difference === 0;
  }
}
