/** `bunker://` connection URLs, as every NIP-46 client library parses them. */

/** Builds the `bunker://` URL: lowercase hex bunker pubkey, each relay, then the secret. */
export function bunkerUrl(bunkerPubkey: string, relays: readonly string[], secret: string): string {
  const query = relays.map((relay) => `relay=${strictEncode(relay)}`);
  query.push(`secret=${strictEncode(secret)}`);
  return `bunker://${bunkerPubkey.toLowerCase()}?${query.join("&")}`;
}

/**
 * `encodeURIComponent` plus `!'()*~`, which it leaves alone but nostr-tools' bunker URL pattern
 * refuses (a relay path like `/~nostr` would otherwise make the URL unreadable to clients).
 */
function strictEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*~]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The relays a bunker answers on, in the order its URLs list them: keycast's own relay endpoint
 * first when it is advertised (`ownRelay`), then `relays` (without a second copy of it).
 */
export function servedRelays(ownRelay: string | undefined, relays: readonly string[]): string[] {
  return ownRelay === undefined
    ? [...relays]
    : [ownRelay, ...relays.filter((url) => url !== ownRelay)];
}
