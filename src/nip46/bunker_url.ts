/**
 * `bunker://` connection URLs: `bunker://<lowercase hex bunker pubkey>?relay=<url>&…&secret=<s>`.
 * Every client library parses a lowercase hex pubkey (several mishandle npub or uppercase), and
 * relay URLs are percent-encoded so any client's query parser reads them back unchanged.
 */

/** Builds the URL handed to a client. It carries the connection secret: never log it. */
export function buildBunkerUrl(
  bunkerPubkey: string,
  relays: readonly string[],
  secret: string,
): string {
  const query = [...relays.map((relay) => `relay=${encodeURIComponent(relay)}`)];
  query.push(`secret=${encodeURIComponent(secret)}`);
  return `bunker://${bunkerPubkey.toLowerCase()}?${query.join("&")}`;
}
