/**
 * NIP-44 (v2) and NIP-04 encryption for one (own key, peer key) pair, from the pair's ECDH secret.
 *
 * Both schemes start from the same expensive step, the x coordinate of `d·Q` (a variable-base
 * multiplication). A {@link PairCipher} holds it together with the NIP-44 conversation key derived
 * from it, so the signer workers keep one per pair in an LRU and every later message of that pair
 * costs only ChaCha20/HMAC (NIP-44) or AES-CBC (NIP-04). NIP-44 payload handling is nostr-tools'
 * `nip44.v2`; NIP-04 is written here because nostr-tools only offers it from the secret key.
 */
import { cbc } from "@noble/ciphers/aes.js";
import { extract } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64 } from "@scure/base";
import { v2 as nip44 } from "nostr-tools/nip44";
import { DecryptError, EncryptError } from "./errors.ts";

/** Transport encryption of a NIP-46 message or an encrypt/decrypt request. */
export type Scheme = "nip44" | "nip04";

/** Largest plaintext NIP-44 v2 encrypts, in UTF-8 bytes. */
export const NIP44_MAX_PLAINTEXT_BYTES = 65_535;

const encoder = new TextEncoder();
const NIP44_SALT = encoder.encode("nip44-v2");
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The scheme of a ciphertext: NIP-04 payloads carry `?iv=`, anything else is taken as NIP-44. */
export function detectScheme(payload: string): Scheme {
  return payload.includes("?iv=") ? "nip04" : "nip44";
}

/** True for the two supported scheme names. */
export function isScheme(value: unknown): value is Scheme {
  return value === "nip44" || value === "nip04";
}

/** Encrypts and decrypts between one own key and one peer key. */
export class PairCipher {
  /** NIP-04 AES-256 key: the raw ECDH x coordinate. */
  readonly #nip04Key: Uint8Array;
  /** NIP-44 conversation key: HKDF-extract(salt "nip44-v2", ECDH x). */
  readonly #nip44Key: Uint8Array;

  /** `sharedX` is the 32-byte x coordinate of the ECDH point. */
  constructor(sharedX: Uint8Array) {
    if (sharedX.length !== 32) {
      throw new RangeError(`Cannot use ECDH secret of ${sharedX.length} bytes: expected 32`);
    }
    this.#nip04Key = sharedX.slice();
    this.#nip44Key = extract(sha256, sharedX, NIP44_SALT);
  }

  /** Encrypts `plaintext` with `scheme`; throws {@link EncryptError} for input NIP-44 cannot carry. */
  encrypt(scheme: Scheme, plaintext: string): string {
    if (scheme === "nip04") {
      const iv = crypto.getRandomValues(new Uint8Array(16));
      const ciphertext = cbc(this.#nip04Key, iv).encrypt(encoder.encode(plaintext));
      return `${base64.encode(ciphertext)}?iv=${base64.encode(iv)}`;
    }
    try {
      return nip44.encrypt(plaintext, this.#nip44Key);
    } catch (error) {
      throw new EncryptError(`Cannot encrypt with NIP-44: ${messageOf(error)}`);
    }
  }

  /** Decrypts a `scheme` payload; throws {@link DecryptError} when it is malformed or forged. */
  decrypt(scheme: Scheme, payload: string): string {
    return scheme === "nip04" ? this.#decryptNip04(payload) : this.#decryptNip44(payload);
  }

  #decryptNip44(payload: string): string {
    try {
      return nip44.decrypt(payload, this.#nip44Key);
    } catch (error) {
      throw new DecryptError(`Cannot decrypt NIP-44 payload: ${messageOf(error)}`);
    }
  }

  #decryptNip04(payload: string): string {
    const [body, ivText, extra] = payload.split("?iv=");
    if (!body || !ivText || extra !== undefined) {
      throw new DecryptError('Cannot decrypt NIP-04 payload: expected "<base64>?iv=<base64>"');
    }
    let iv: Uint8Array;
    let ciphertext: Uint8Array;
    try {
      iv = base64.decode(ivText);
      ciphertext = base64.decode(body);
    } catch (error) {
      throw new DecryptError(`Cannot decrypt NIP-04 payload: ${messageOf(error)}`);
    }
    if (iv.length !== 16) {
      throw new DecryptError(
        `Cannot decrypt NIP-04 payload: the iv is ${iv.length} bytes, expected 16`,
      );
    }
    if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) {
      throw new DecryptError(
        `Cannot decrypt NIP-04 payload: ${ciphertext.length} bytes is not a whole number of AES blocks`,
      );
    }
    let plain: Uint8Array;
    try {
      plain = cbc(this.#nip04Key, iv).decrypt(ciphertext);
    } catch (error) {
      throw new DecryptError(`Cannot decrypt NIP-04 payload: ${messageOf(error)}`);
    }
    try {
      return utf8.decode(plain);
    } catch {
      throw new DecryptError("Cannot decrypt NIP-04 payload: the plaintext is not valid UTF-8");
    }
  }
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.length > 200 ? `${message.slice(0, 200)}…` : message;
}
