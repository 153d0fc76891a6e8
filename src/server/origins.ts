/** The origins a request to this server can be addressed to, for NIP-98 `u` tags. */

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);
const WILDCARD = new Set(["0.0.0.0", "::", "[::]"]);

/**
 * The origins of the address keycast is bound to: the host and port as bound, and for a
 * loopback or wildcard bind the loopback names (`127.0.0.1`, `localhost`, `[::1]`) — never a
 * host a client names in its `Host` header.
 */
export function boundOrigins(hostname: string, port: number): string[] {
  if (LOOPBACK.has(hostname) || WILDCARD.has(hostname)) {
    return ["127.0.0.1", "localhost", "[::1]"].map((host) => `http://${host}:${port}`);
  }
  const host = hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
  return [`http://${host}:${port}`];
}
