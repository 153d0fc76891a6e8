/** Public keys as people write them: 64-character hex or NIP-19 `npub`. */
import { decode as decodeNip19, npubEncode } from "nostr-tools/nip19";

/** Lowercase hex for a 64-hex or npub pubkey, or undefined when it is neither. */
export function pubkeyToHex(value: string): string | undefined {
  const trimmed = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return trimmed.toLowerCase();
  if (!trimmed.startsWith("npub1")) return undefined;
  try {
    const decoded = decodeNip19(trimmed);
    return decoded.type === "npub" ? decoded.data : undefined;
  } catch (_error: unknown) {
    return undefined; // not bech32, or a bad checksum: not a pubkey
  }
}

/** The `npub1…` form of a lowercase hex pubkey. */
export function toNpub(hexPubkey: string): string {
  return npubEncode(hexPubkey);
}

/** `npub1abcd…wxyz`: the start and end of an npub, for places too narrow for all of it. */
export function shortNpub(npub: string, keep = 8): string {
  return npub.length <= 2 * keep + 5 ? npub : `${npub.slice(0, keep + 5)}…${npub.slice(-keep)}`;
}
