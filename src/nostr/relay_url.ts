/**
 * Relay URLs: the one parser every boundary uses (flags, the admin API, nostrconnect URIs, the
 * relay pool), so a URL accepted anywhere is a URL the pool connects to. Stored and compared in
 * normalized form: one relay gets one connection however it is spelled.
 */

/** Longest relay URL accepted, in characters. */
export const MAX_RELAY_URL_CHARS = 512;

/** Raised by {@link parseRelayUrl}; the message quotes the URL, never its credentials. */
export class RelayUrlError extends TypeError {
  override name = "RelayUrlError";
  /** Why the URL cannot be used, without the URL: "scheme must be ws or wss". */
  readonly problem: string;

  constructor(input: string, problem: string) {
    super(`Cannot use relay URL ${quote(input)}: ${problem}`);
    this.problem = problem;
  }
}

/**
 * Validates and normalizes a relay URL: trims it, lowercases scheme and host, drops the default
 * port, the fragment and a bare `/` path, and keeps any other path and the query, so
 * `WSS://Relay.X:443/` and `wss://relay.x` are the same relay. Throws {@link RelayUrlError} for
 * anything but a `ws:`/`wss:` URL with a host of at most {@link MAX_RELAY_URL_CHARS} characters,
 * and for URLs carrying credentials (which are then left out of the message).
 */
export function parseRelayUrl(input: string): string {
  const text = input.trim();
  if (text.length === 0) throw new RelayUrlError(text, "it is empty");
  if (text.length > MAX_RELAY_URL_CHARS) {
    throw new RelayUrlError(text, `it is longer than ${MAX_RELAY_URL_CHARS} characters`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch (_error: unknown) {
    throw new RelayUrlError(text, "it is not a URL");
  }
  if (url.username !== "" || url.password !== "") {
    throw new RelayUrlError(`${url.protocol}//…@${url.host}`, "it must not carry credentials");
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new RelayUrlError(text, "scheme must be ws or wss");
  }
  if (url.hostname === "") throw new RelayUrlError(text, "it has no host");
  const path = url.pathname === "/" ? "" : url.pathname;
  return `${url.protocol}//${url.host}${path}${url.search}`;
}

/** Why `input` is not a usable relay URL, or undefined when it is. */
export function relayUrlProblem(input: string): string | undefined {
  try {
    parseRelayUrl(input);
    return undefined;
  } catch (error: unknown) {
    if (error instanceof RelayUrlError) return error.problem;
    throw error;
  }
}

/** The form of a normalized relay URL that is safe to log: a query (maybe a token) becomes `?…`. */
export function redactRelayUrl(normalizedUrl: string): string {
  const q = normalizedUrl.indexOf("?");
  return q === -1 ? normalizedUrl : `${normalizedUrl.slice(0, q)}?…`;
}

function quote(input: string): string {
  return JSON.stringify(input.length > 100 ? `${input.slice(0, 100)}…` : input);
}

/**
 * Whether a normalized relay URL names a host on this machine or a private network: loopback,
 * RFC 1918, link-local, CGNAT, unique-local and unspecified address literals (IPv4-mapped IPv6
 * included), `localhost` and names under `.localhost`, `.local`, `.internal`, `.home.arpa`, and
 * single-label names. A name that only resolves to such an address is not caught here.
 */
export function isPrivateRelayHost(normalizedUrl: string): boolean {
  let host: string;
  try {
    host = new URL(normalizedUrl).hostname.toLowerCase();
  } catch (_error: unknown) {
    return true;
  }
  if (host.startsWith("[")) return isPrivateIpv6(host.slice(1, -1));
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return isPrivateIpv4(host);
  const name = host.replace(/\.$/, "");
  if (!name.includes(".")) return true;
  return name === "localhost" ||
    [".localhost", ".local", ".internal", ".home.arpa"].some((suffix) => name.endsWith(suffix));
}

function isPrivateIpv4(address: string): boolean {
  const [a = 0, b = 0] = address.split(".").map(Number);
  return a === 0 || a === 10 || a === 127 || a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

function isPrivateIpv6(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return isPrivateIpv4(mapped[1]!);
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(address);
  if (hex) {
    const high = parseInt(hex[1]!, 16);
    const low = parseInt(hex[2]!, 16);
    return isPrivateIpv4(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
  }
  if (address === "::" || address === "::1") return true;
  const first = parseInt(address.split(":")[0] || "0", 16);
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}
