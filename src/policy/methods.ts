/**
 * The NIP-46 methods a policy can name.
 */

/** Methods that use no secret key and that clients need to work: always allowed by `methods`. */
export const SESSION_METHODS: readonly string[] = Object.freeze([
  "connect",
  "ping",
  "get_public_key",
  "switch_relays",
  "get_relays",
  "logout",
]);

/** Methods that use the user's secret key. */
export const KEY_METHODS: readonly string[] = Object.freeze([
  "sign_event",
  "nip04_encrypt",
  "nip04_decrypt",
  "nip44_encrypt",
  "nip44_decrypt",
]);

/** Methods whose request names a peer pubkey (the counterparty). */
export const PEER_METHODS: readonly string[] = Object.freeze(
  KEY_METHODS.filter((method) => method !== "sign_event"),
);

const known = new Set([...SESSION_METHODS, ...KEY_METHODS]);

/** Whether `method` is a NIP-46 method keycast knows. */
export function isKnownMethod(method: unknown): method is string {
  return typeof method === "string" && known.has(method);
}
