/** Hex helpers for keys, ids and digests. */

const HEX_64 = /^[0-9a-f]{64}$/;

/** Lowercase hex of `bytes`. */
export function encodeHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** True for a 64-character lowercase hex string (pubkeys, event ids, sha256 digests). */
export function isHex64(value: unknown): value is string {
  return typeof value === "string" && HEX_64.test(value);
}

/** sha256 of a UTF-8 string, as lowercase hex. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return encodeHex(new Uint8Array(digest));
}
