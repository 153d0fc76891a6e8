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
