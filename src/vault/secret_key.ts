/**
 * Parsing of user-provided secret keys for `keys import`: `nsec1…` (NIP-19), 64 hex characters,
 * or `ncryptsec1…` (NIP-49, needs the password).
 *
 * NIP-49 is decrypted here with the same primitives nostr-tools uses (scrypt, XChaCha20-Poly1305)
 * but with `scryptAsync`, which yields to the event loop every few ms: at log_n 20 scrypt runs for
 * seconds and must not stall the relay listener when a key is imported through the HTTP API. The
 * payload is validated, and log_n capped at {@link NCRYPTSEC_MAX_LOG_N}, before any scrypt work.
 * Error messages never echo the input or the password.
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { hexToBytes } from "@noble/hashes/utils.js";
import { bech32 } from "@scure/base";

/** Raised when a secret key cannot be parsed or decrypted; never carries the input. */
export class SecretKeyError extends Error {
  override name = "SecretKeyError";
}

/** Largest accepted NIP-49 scrypt cost exponent: 2^20 rounds need 1 GiB of memory and seconds. */
export const NCRYPTSEC_MAX_LOG_N = 20;

const EXPECTED = "expected an nsec1… key, 64 hex characters, or an ncryptsec1… (NIP-49) key";
/** Longest accepted input in characters; an ncryptsec is 162. */
const MAX_INPUT_CHARS = 500;
/** Byte length of a NIP-49 payload: version, log_n, salt 16, nonce 24, key security byte, 48. */
const NCRYPTSEC_BYTES = 91;

/** Parses a secret key given as nsec, 64-hex or ncryptsec (with `password`); returns 32 bytes. */
export async function parseSecretKey(input: string, password?: string): Promise<Uint8Array> {
  const text = input.trim();
  if (text.length > MAX_INPUT_CHARS) {
    throw new SecretKeyError(
      `Cannot parse secret key: input is ${text.length} characters, ${EXPECTED}`,
    );
  }
  let secretKey: Uint8Array;
  if (/^[0-9a-f]{64}$/i.test(text)) {
    secretKey = hexToBytes(text.toLowerCase());
  } else if (/^nsec1/i.test(text)) {
    secretKey = decodeNsec(text);
  } else if (/^ncryptsec1/i.test(text)) {
    secretKey = await decryptNcryptsec(text, password);
  } else {
    throw new SecretKeyError(`Cannot parse secret key: ${EXPECTED}`);
  }
  if (!secp256k1.utils.isValidSecretKey(secretKey)) {
    throw new SecretKeyError(
      "Cannot use secret key: it is zero or not below the secp256k1 curve order",
    );
  }
  return secretKey;
}

function decodeNsec(text: string): Uint8Array {
  const decoded = bech32.decodeUnsafe(text, 90);
  const bytes = decoded ? bech32.fromWordsUnsafe(decoded.words) : undefined;
  if (!decoded || decoded.prefix !== "nsec" || !bytes || bytes.length !== 32) {
    throw new SecretKeyError(
      "Cannot parse nsec key: it is not valid bech32 holding 32 bytes (check for a typo or a cut-off copy)",
    );
  }
  return bytes;
}

async function decryptNcryptsec(text: string, password: string | undefined): Promise<Uint8Array> {
  const decoded = bech32.decodeUnsafe(text, 5000);
  const payload = decoded ? bech32.fromWordsUnsafe(decoded.words) : undefined;
  if (
    !decoded || decoded.prefix !== "ncryptsec" || !payload || payload.length !== NCRYPTSEC_BYTES
  ) {
    throw new SecretKeyError(
      `Cannot parse ncryptsec key: it is not valid bech32 holding ${NCRYPTSEC_BYTES} bytes ` +
        "(check for a typo or a cut-off copy)",
    );
  }
  const [version = 0, logN = 0] = payload;
  if (version !== 2) {
    throw new SecretKeyError(
      `Cannot decrypt ncryptsec key: version ${version} is not supported, expected 2`,
    );
  }
  if (logN < 1 || logN > NCRYPTSEC_MAX_LOG_N) {
    throw new SecretKeyError(
      `Cannot decrypt ncryptsec key: its scrypt cost log_n ${logN} is outside 1..${NCRYPTSEC_MAX_LOG_N}; ` +
        "re-encrypt it with a lower log_n",
    );
  }
  const keySecurity = payload[42] ?? 255;
  if (keySecurity > 2) {
    throw new SecretKeyError(
      `Cannot decrypt ncryptsec key: key security byte ${keySecurity} is not 0, 1 or 2`,
    );
  }
  if (password === undefined) {
    throw new SecretKeyError("Cannot decrypt ncryptsec key: a password is required");
  }
  const salt = payload.subarray(2, 18);
  const nonce = payload.subarray(18, 42);
  const symmetricKey = await scryptAsync(password.normalize("NFKC"), salt, {
    N: 2 ** logN,
    r: 8,
    p: 1,
    dkLen: 32,
  });
  try {
    return xchacha20poly1305(symmetricKey, nonce, Uint8Array.of(keySecurity)).decrypt(
      payload.subarray(43),
    );
  } catch (_error: unknown) {
    // The only failure left is the authentication tag: say what it means, not the cipher's words.
    throw new SecretKeyError(
      "Cannot decrypt ncryptsec key: wrong password, or the ncryptsec is corrupted",
    );
  } finally {
    symmetricKey.fill(0);
  }
}
